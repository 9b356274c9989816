"""Smart lockout (reference §5.4).

* After ``OPENSSPR_LOCKOUT_THRESHOLD`` (10) counted failures the ID is locked
  for ``OPENSSPR_LOCKOUT_SECONDS`` (60 s); every further lockout doubles the
  time, up to ``OPENSSPR_LOCKOUT_MAX_SECONDS``.
* When a lock ends the count stays at the threshold, so the first failure after
  a lockout locks again, for longer.
* A wrong password equal to one of the last three wrong ones is not counted
  again: a person retrying the same typo is not an attacker guessing.
* After 24 hours without a failure everything starts afresh; a successful
  sign-in clears the state at once.
* Networks the user signed in from in the last 90 days count apart
  (``signin.sources``), so a lock set by guesses from elsewhere does not stop
  the person at their usual place.

Counting is atomic (``select_for_update``). The lock check before a password
check is a plain read, so a few guesses already in flight when the lock lands
may still be evaluated; each is counted.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from opensspr.core.crypto import keyed_digest
from opensspr.signin.models import SignInLockout

QUIET_PERIOD = timedelta(hours=24)
REMEMBERED_FAILURES = 3


@dataclass(frozen=True)
class LockState:
    locked_until: datetime | None
    newly_locked: bool = False

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


def lockout_key(identifier_key: str, *, familiar: bool = False) -> str:
    """The counter for ``identifier_key`` from familiar or from other networks."""
    suffix = "\x00familiar" if familiar else ""
    return keyed_digest("signin-lockout", identifier_key + suffix)


def all_keys(identifier_key: str) -> list[str]:
    return [lockout_key(identifier_key), lockout_key(identifier_key, familiar=True)]


def _failure_digest(key: str, password: str) -> str:
    return keyed_digest("signin-bad-password", f"{key}\x00{password}")[:32]


def lock_duration(level: int) -> timedelta:
    seconds = settings.OPENSSPR_LOCKOUT_SECONDS * 2 ** max(level - 1, 0)
    return timedelta(seconds=min(seconds, settings.OPENSSPR_LOCKOUT_MAX_SECONDS))


def get_lock_state(key: str) -> LockState:
    row = SignInLockout.objects.filter(key=key).only("locked_until").first()
    return LockState(row.locked_until if row else None)


def register_failure(key: str, password: str, now: datetime) -> LockState:
    """Count one failed password for ``key``; lock when the threshold is reached."""
    digest = _failure_digest(key, password)
    with transaction.atomic():
        row, _created = SignInLockout.objects.select_for_update().get_or_create(key=key)
        if row.last_failure_at and now - row.last_failure_at > QUIET_PERIOD:
            row.failed_count, row.lockout_level, row.recent_failures = 0, 0, []
        row.last_failure_at = now
        if digest in row.recent_failures:
            row.save(
                update_fields=[
                    "last_failure_at",
                    "failed_count",
                    "lockout_level",
                    "recent_failures",
                ]
            )
            return LockState(row.locked_until)
        row.recent_failures = [*row.recent_failures, digest][-REMEMBERED_FAILURES:]
        row.failed_count += 1
        newly_locked = False
        currently_locked = row.locked_until is not None and row.locked_until > now
        if row.failed_count >= settings.OPENSSPR_LOCKOUT_THRESHOLD and not currently_locked:
            row.lockout_level += 1
            row.locked_until = now + lock_duration(row.lockout_level)
            newly_locked = True
        row.save()
        return LockState(row.locked_until, newly_locked=newly_locked)


def clear(*keys: str) -> None:
    """Forget every failure for these counters (successful sign-in, reset, admin unlock)."""
    SignInLockout.objects.filter(key__in=keys).delete()
