"""Smart lockout (reference §5.4), kept by the throttle rule ``signin.lockout``.

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

The counts live in the database (``throttles``: durable, under the subject's
row lock). Sign-in reserves each failure *before* the password is compared
(``reserve_attempt``) and gives it back when the password was right, so however
many guesses arrive at once, at most the threshold are compared. Callers that
still compare first and count after (``register_failure``) let a few guesses in
flight when the lock lands be compared; each is counted.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from opensspr.core.crypto import keyed_digest
from opensspr.throttles import service
from opensspr.throttles.base import Reservation
from opensspr.throttles.rules import SIGNIN_LOCKOUT, Scope

QUIET_PERIOD = SIGNIN_LOCKOUT.window
REMEMBERED_FAILURES = SIGNIN_LOCKOUT.distinct


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


def lock_duration(level: int) -> timedelta:
    """How long the ``level``-th lockout in a row lasts."""
    return SIGNIN_LOCKOUT.penalty_for(level) or timedelta(0)


def get_lock_state(key: str) -> LockState:
    return LockState(service.blocked_until(SIGNIN_LOCKOUT, key))


def state_of(reservation: Reservation) -> LockState:
    """The lock a reserved failure leaves if the password turns out wrong."""
    return LockState(reservation.blocked_until, newly_locked=reservation.verdict.newly_blocked)


def reserve_attempt(key: str, password: str, now: datetime) -> Reservation:
    """Count a failure for ``key`` before ``password`` is compared; compare only if allowed.

    ``password`` is kept only as a keyed digest, to recognise a repeat. The
    threshold-th reservation locks at once; ``give_back`` it when the password
    was right.
    """
    return service.reserve(SIGNIN_LOCKOUT, key, now=now, repeat_of=password)


def give_back(reservation: Reservation) -> None:
    """The password was right: the reserved failure (and a lock it set) never happened."""
    service.give_back(reservation)


def register_failure(key: str, password: str, now: datetime) -> LockState:
    """Count a failed password for ``key``, already compared; lock at the threshold."""
    return state_of(reserve_attempt(key, password, now))


def clear(*keys: str) -> None:
    """Forget every failure for these counters (successful sign-in, reset, admin unlock)."""
    service.clear(Scope.SIGNIN_LOCKOUT, *keys)
