"""Delivery metrics. Labels are bounded: kind, channel key and outcome, never a recipient.

Some messages exist only because a typed user ID belongs to someone: the help
request that anyone may start for any ID is fanned out to the administrators
only for a real, enabled account. Counting those would let whoever reads
/metrics tell a real ID from a made-up one (attack A1), so their purposes are
left out of the counter; the audit log and the outbox console still show them.
"""

from prometheus_client import Counter

DELIVERIES = Counter(
    "opensspr_deliveries_total",
    "Delivery attempts by kind, channel and outcome",
    ["kind", "provider", "outcome"],
)

#: Purposes a stranger can cause for a real ID only, knowing nothing but the ID.
UNCOUNTED_PURPOSES = frozenset({"reset.admin_help", "reset.recovery_requested"})


def count_delivery(kind: str, provider: str, outcome: str, *, purpose: str) -> None:
    if purpose in UNCOUNTED_PURPOSES:
        return
    DELIVERIES.labels(kind, provider or "none", outcome).inc()
