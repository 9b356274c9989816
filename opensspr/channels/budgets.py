"""Hourly budgets for texts and calls: they cost money, whoever asks (attack A4, SMS pumping).

One pair of buckets for the whole product (the reset flow and security-info
proofs alike), in the cache shared by every process: per client address and for
the whole service. Over budget nothing should be sent, and the operator hears
of it here (a warning and a metric); callers add their own audit row.
"""

import logging
from datetime import datetime

from django.conf import settings
from prometheus_client import Counter

from opensspr.core import ratelimit

logger = logging.getLogger("opensspr.channels")
PHONE_BUDGET_EXCEEDED = Counter(
    "opensspr_phone_budget_exceeded_total", "Texts and calls not sent: over a budget", ["budget"]
)


def phone_budget_exceeded(ip_address: str | None, now: datetime) -> str | None:
    """Count one text or call; the budget it broke ("per_ip", "global"), or None."""
    per_ip = ratelimit.Limit("phone-ip", settings.OPENSSPR_PHONE_BUDGET_PER_IP, 3600)
    overall = ratelimit.Limit("phone-global", settings.OPENSSPR_PHONE_BUDGET_GLOBAL, 3600)
    ip_ok = ratelimit.hit(per_ip, ip_address or "-", now) <= per_ip.maximum
    global_ok = ratelimit.hit(overall, "all", now) <= overall.maximum
    if ip_ok and global_ok:
        return None
    which = "per_ip" if not ip_ok else "global"
    logger.warning("phone budget exceeded (%s): a text or call was not sent", which)
    PHONE_BUDGET_EXCEEDED.labels(which).inc()
    return which
