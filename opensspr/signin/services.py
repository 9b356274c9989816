"""Signing in with a user ID and password.

Every attempt takes the same path whether or not the user exists: the per-IP
budget, the lockout state for what was typed, a failure reserved before the
password is compared (given back when it was right), a password verification
(a dummy argon2id run for unknown users, and also when a user's directory can't be
reached), and a counted failure. Only a *correct* password reveals anything
about the account (disabled, expired), so nothing tells an attacker without the
password which IDs exist (attack A1). The real reason of every failure goes to
the audit log, never to the person.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db import transaction

from opensspr.accounts.authority import HelpdeskAction, may_act
from opensspr.accounts.identifiers import identifier_key
from opensspr.accounts.models import User
from opensspr.accounts.selectors import get_user_by_identifier
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event, unknown_identifier_label
from opensspr.core import clock
from opensspr.core.metrics import LOCKOUTS, SIGN_INS
from opensspr.core.request_meta import RequestMeta
from opensspr.directory import connector_for
from opensspr.directory.base import DirectoryError
from opensspr.directory.errors import DirectoryAccountError, DirectoryCode
from opensspr.directory.local import verify_dummy
from opensspr.policy.selectors import is_password_expired
from opensspr.signin import devices, lockout, sources
from opensspr.throttles import rules as throttle_rules
from opensspr.throttles import service as throttles
from opensspr.throttles.base import Reservation

#: Failed sign-ins per client address (``OPENSSPR_SIGNIN_FAILURES_PER_IP`` per 15 minutes).
FAILURES_PER_IP = throttle_rules.SIGNIN_FAILURES_PER_ADDRESS


class SignInOutcome(StrEnum):
    SUCCESS = "success"
    INVALID = "invalid_credentials"
    LOCKED = "account_locked"
    THROTTLED = "too_many_attempts"
    DISABLED = "account_disabled"
    CHANGE_REQUIRED = "change_required"
    UNAVAILABLE = "directory_unavailable"  # a synced person's directory can't be asked


class ChangeReason(StrEnum):
    EXPIRED = "password_expired"
    ADMIN_RESET = "admin_reset"


@dataclass(frozen=True)
class SignInResult:
    outcome: SignInOutcome
    user: User | None = None
    locked_until: datetime | None = None
    change_reason: ChangeReason | None = None
    audit_reason: str = ""  # the real reason, for the audit log only


@dataclass(frozen=True)
class _Attempt:
    user: User | None
    key: str
    lock_key: str
    now: datetime
    meta: RequestMeta


def _audit(activity: Activity, *, outcome: Outcome, reason: str, attempt: _Attempt) -> None:
    user = attempt.user
    record_event(
        activity=activity,
        outcome=outcome,
        reason=reason,
        meta=attempt.meta,
        actor=user,
        target=user,
        target_label=user.user_id if user else unknown_identifier_label(attempt.key),
    )


def lock_key_for(key: str, meta: RequestMeta, now: datetime) -> str:
    """The lockout counter that applies to ``key`` from the client's network or device."""
    familiar = devices.is_familiar(key, meta.device) or sources.is_familiar(
        key, meta.ip_address, now
    )
    return lockout.lockout_key(key, familiar=familiar)


def register_wrong_password(
    *,
    user: User | None,
    key: str,
    password: str,
    meta: RequestMeta,
    now: datetime,
    reservation: Reservation | None = None,
) -> lockout.LockState:
    """Count a wrong password toward smart lockout and the per-IP budget.

    Shared by sign-in and password change, so the change form is no way around
    either limit. ``reservation``: the failure ``lockout.reserve_attempt``
    already counted before the comparison; without it the failure is counted
    now, after the comparison.
    """
    attempt = _Attempt(user, key, lock_key_for(key, meta, now), now, meta)
    if reservation is None:
        state = lockout.register_failure(attempt.lock_key, password, now)
    else:
        state = lockout.state_of(reservation)
    return _count_wrong_password(attempt, state)


def _count_wrong_password(attempt: _Attempt, state: lockout.LockState) -> lockout.LockState:
    """The rest of a wrong password once lockout has counted it: the per-IP budget, the audit."""
    throttles.hit(FAILURES_PER_IP, attempt.meta.ip_address or "-", now=attempt.now)
    if state.newly_locked:
        LOCKOUTS.inc()
        _audit(
            Activity.SIGNIN_LOCKED_OUT,
            outcome=Outcome.SUCCESS,
            reason="threshold_reached",
            attempt=attempt,
        )
    return state


def sign_in(*, identifier: str, password: str, meta: RequestMeta) -> SignInResult:
    key = identifier_key(identifier)
    now = clock.now()
    attempt = _Attempt(
        get_user_by_identifier(identifier), key, lock_key_for(key, meta, now), now, meta
    )
    state = lockout.get_lock_state(attempt.lock_key)
    if throttles.blocked_until(FAILURES_PER_IP, meta.ip_address or "-", now=now):
        result = SignInResult(SignInOutcome.THROTTLED)
    elif state.is_locked(now):
        result = SignInResult(SignInOutcome.LOCKED, locked_until=state.locked_until)
    else:
        result = _verify(attempt, password)
    _record(attempt, result)
    return result


def _verify(attempt: _Attempt, password: str) -> SignInResult:
    """Reserve the failure, then compare: parallel guesses never pass the threshold."""
    reservation = lockout.reserve_attempt(attempt.lock_key, password, attempt.now)
    if not reservation.allowed:  # a parallel guess locked it since the read above
        return SignInResult(SignInOutcome.LOCKED, locked_until=reservation.blocked_until)
    user = attempt.user
    audit_reason = ""
    if user is None:
        verify_dummy(password)
        correct = False
    else:
        try:
            correct = connector_for(user).verify_password(user, password)
        except DirectoryAccountError as exc:
            told = _directory_told(exc, user, attempt, reservation)
            if told is not None:
                return told
            correct, audit_reason = False, f"directory:{exc.code}"
        except DirectoryError as exc:
            # Nothing was compared: an outage must not count toward anyone's lockout.
            lockout.give_back(reservation)
            return SignInResult(SignInOutcome.UNAVAILABLE, audit_reason=f"directory:{exc.code}")
    if not correct:
        state = _count_wrong_password(attempt, lockout.state_of(reservation))
        if state.is_locked(attempt.now):
            return SignInResult(
                SignInOutcome.LOCKED, locked_until=state.locked_until, audit_reason=audit_reason
            )
        return SignInResult(SignInOutcome.INVALID, audit_reason=audit_reason)
    assert user is not None  # a correct password belongs to a user
    lockout.give_back(reservation)
    return _right_password(user, attempt)


def _directory_told(
    exc: DirectoryAccountError, user: User, attempt: _Attempt, reservation: Reservation
) -> SignInResult | None:
    """A synced person's directory answered with the account's state, not a yes or no.

    Active Directory and ppolicy say "must change", "expired" and "disabled" only
    for the right password: the person is who they say, so the failure is given
    back and the right-password path decides (a change, or the disabled page). A
    lock in the directory is told whatever the password (the directory does so
    too), and sends the person to unlock. Anything else counts as a wrong password.
    """
    code = exc.code
    if code == DirectoryCode.ACCOUNT_LOCKED:
        lockout.give_back(reservation)
        return SignInResult(SignInOutcome.LOCKED, audit_reason=f"directory:{code}")
    reasons: dict[str, ChangeReason] = {
        DirectoryCode.MUST_CHANGE_PASSWORD: ChangeReason.ADMIN_RESET,
        DirectoryCode.PASSWORD_EXPIRED: ChangeReason.EXPIRED,
    }
    if code in reasons:
        lockout.give_back(reservation)
        if lockout.get_lock_state(attempt.lock_key).is_locked(attempt.now):
            return SignInResult(SignInOutcome.LOCKED)
        lockout.clear(attempt.lock_key)
        if not user.account_enabled:
            return SignInResult(SignInOutcome.DISABLED, user=user)
        return SignInResult(
            SignInOutcome.CHANGE_REQUIRED,
            user,
            change_reason=reasons[code],
            audit_reason=f"directory:{code}",
        )
    if code == DirectoryCode.ACCOUNT_DISABLED:
        lockout.give_back(reservation)
        return SignInResult(SignInOutcome.DISABLED, user=user, audit_reason=f"directory:{code}")
    return None


def _right_password(user: User, attempt: _Attempt) -> SignInResult:
    now = attempt.now
    # Re-check the lock, which a parallel wrong guess may have set meanwhile.
    if lockout.get_lock_state(attempt.lock_key).is_locked(now):
        return SignInResult(SignInOutcome.LOCKED)
    expiry = user.temporary_password_expires_at
    if user.must_change_password and expiry is not None and expiry <= now:
        return SignInResult(SignInOutcome.INVALID, audit_reason="temporary_password_expired")
    lockout.clear(attempt.lock_key)
    if not user.account_enabled:
        return SignInResult(SignInOutcome.DISABLED, user=user)
    if user.must_change_password:
        return SignInResult(
            SignInOutcome.CHANGE_REQUIRED, user, change_reason=ChangeReason.ADMIN_RESET
        )
    if is_password_expired(user, now):
        return SignInResult(SignInOutcome.CHANGE_REQUIRED, user, change_reason=ChangeReason.EXPIRED)
    return SignInResult(SignInOutcome.SUCCESS, user)


def _record(attempt: _Attempt, result: SignInResult) -> None:
    succeeded = result.outcome == SignInOutcome.SUCCESS
    with transaction.atomic():
        _audit(
            Activity.SIGNIN_SUCCEEDED if succeeded else Activity.SIGNIN_FAILED,
            outcome=Outcome.SUCCESS if succeeded else Outcome.FAILURE,
            reason="" if succeeded else (result.audit_reason or result.outcome.value),
            attempt=attempt,
        )
        if succeeded and result.user is not None:
            _mark_signed_in(result.user, attempt.meta, attempt.now)
    SIGN_INS.labels(result.outcome.value).inc()


def _mark_signed_in(user: User, meta: RequestMeta, now: datetime) -> None:
    user.last_login = now
    user.save(update_fields=["last_login"])
    sources.remember(user.user_id_key, meta.ip_address, now)


def complete_sign_in_after_change(*, user: User, meta: RequestMeta) -> None:
    """The forced change at sign-in is done: the sign-in itself has now succeeded."""
    now = clock.now()
    attempt = _Attempt(user, user.user_id_key, "", now, meta)
    with transaction.atomic():
        _audit(
            Activity.SIGNIN_SUCCEEDED,
            outcome=Outcome.SUCCESS,
            reason="after_password_change",
            attempt=attempt,
        )
        _mark_signed_in(user, meta, now)
    SIGN_INS.labels(SignInOutcome.SUCCESS.value).inc()


def unlock_sign_in(*, actor: User | None, user: User, meta: RequestMeta) -> None:
    """End a smart lockout without waiting for it to run out.

    ``actor`` None is the operator at the command line (``opensspr unlock``),
    who already holds the machine; in the console only an administrator
    whose roles reach ``user``'s may (``accounts.authority``).
    """
    if actor is not None and not may_act(actor, user, HelpdeskAction.UNLOCK):
        raise PermissionDenied("this administrator's roles don't reach this person")
    with transaction.atomic():
        lockout.clear(*lockout.all_keys(identifier_key(user.user_id)))
        record_event(
            activity=Activity.SIGNIN_UNLOCKED_BY_ADMIN,
            outcome=Outcome.SUCCESS,
            meta=meta,
            actor=actor,
            target=user,
            details={"via": "console" if actor else "command line"},
        )
