"""Delivery metrics. Labels are bounded: kind, channel key and outcome, never a recipient."""

from prometheus_client import Counter

DELIVERIES = Counter(
    "opensspr_deliveries_total",
    "Delivery attempts by kind, channel and outcome",
    ["kind", "provider", "outcome"],
)


def count_delivery(kind: str, provider: str, outcome: str) -> None:
    DELIVERIES.labels(kind, provider or "none", outcome).inc()
