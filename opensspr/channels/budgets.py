"""Hourly budgets for texts and calls: they cost money, whoever asks (attack A4, SMS pumping).

One pair of budgets for the whole product (the reset flow and security-info
proofs alike), the throttle rules ``phone.per_address`` and ``phone.global``:
per client address and for the whole service, kept in the database so losing
the cache refills no budget (F12). A text refused by its address's budget
doesn't draw on the global one. Over budget nothing should be sent, and the
operator hears of it here (a warning and a metric); callers add their own audit
row.
"""

import logging
from datetime import datetime

from prometheus_client import Counter

from opensspr.throttles import rules, service

logger = logging.getLogger("opensspr.channels")
PHONE_BUDGET_EXCEEDED = Counter(
    "opensspr_phone_budget_exceeded_total", "Texts and calls not sent: over a budget", ["budget"]
)


def phone_budget_exceeded(ip_address: str | None, now: datetime) -> str | None:
    """Count one text or call; the budget it broke ("per_ip", "global"), or None."""
    if not service.hit(rules.PHONE_PER_ADDRESS, ip_address or "-", now=now).allowed:
        which = "per_ip"
    elif not service.hit(rules.PHONE_GLOBAL, "all", now=now).allowed:
        which = "global"
    else:
        return None
    logger.warning("phone budget exceeded (%s): a text or call was not sent", which)
    PHONE_BUDGET_EXCEEDED.labels(which).inc()
    return which
