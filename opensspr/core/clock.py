"""The one clock every time-dependent rule reads.

Lockouts, expiry, code lifetimes and throttles all call :func:`now`, never
``timezone.now()`` directly, so tests can freeze and advance time instead of
sleeping. The override is process-global on purpose: a live test server runs in
a thread of the test process and must see the same time as the test.
"""

import threading
from datetime import datetime, timedelta

from django.utils import timezone

_lock = threading.Lock()
_frozen: datetime | None = None


def now() -> datetime:
    frozen = _frozen
    return frozen if frozen is not None else timezone.now()


def freeze(moment: datetime) -> None:
    """Stop time at ``moment`` (aware datetime). Test seam only."""
    global _frozen  # noqa: PLW0603 (the seam is deliberately module state)
    if timezone.is_naive(moment):
        raise ValueError("freeze() needs an aware datetime")
    with _lock:
        _frozen = moment


def advance(delta: timedelta) -> datetime:
    """Move frozen time forward; freezes the current time first if needed."""
    global _frozen  # noqa: PLW0603
    with _lock:
        _frozen = (_frozen or timezone.now()) + delta
        return _frozen


def unfreeze() -> None:
    global _frozen  # noqa: PLW0603
    with _lock:
        _frozen = None
