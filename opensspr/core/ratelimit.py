"""Fixed-window rate limits kept in the cache (Redis when configured).

For abuse budgets that must hold across app processes (failed sign-ins per
client network, later SMS/voice budgets) but need no durability: losing Redis
resets them, which is why the security counters that must survive (smart
lockout, SSPR throttles) live in the database instead. Keys are keyed digests,
so the cache never holds an IP address or user ID in clear.
"""

from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache

from opensspr.core.crypto import keyed_digest


@dataclass(frozen=True)
class Limit:
    name: str
    maximum: int
    window_seconds: int


def _bucket(limit: Limit, subject: str, now: datetime) -> str:
    window = int(now.timestamp()) // limit.window_seconds
    return f"rl:{limit.name}:{keyed_digest('ratelimit', subject)[:32]}:{window}"


def count(limit: Limit, subject: str, now: datetime) -> int:
    """How many hits ``subject`` has used in the current window."""
    return int(cache.get(_bucket(limit, subject, now), 0))


def exceeded(limit: Limit, subject: str, now: datetime) -> bool:
    return count(limit, subject, now) >= limit.maximum


def hit(limit: Limit, subject: str, now: datetime) -> int:
    """Count one hit atomically (Redis INCR, or locmem's locked increment)."""
    bucket = _bucket(limit, subject, now)
    cache.add(bucket, 0, timeout=limit.window_seconds * 2)
    try:
        return int(cache.incr(bucket))
    except ValueError:  # expired between add and incr
        cache.add(bucket, 1, timeout=limit.window_seconds * 2)
        return 1
