"""Signing in with a user ID and password.

Every attempt takes the same path whether or not the user exists: look up the
lockout state for what was typed, verify the password (a dummy argon2id run for
unknown users), count a failure. Only a *correct* password reveals anything
about the account (disabled, expired), so nothing tells an attacker without the
password which IDs exist (attack A1).
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db import transaction

from opensspr.accounts.identifiers import identifier_key
from opensspr.accounts.models import User
from opensspr.accounts.selectors import can_manage_user, get_user_by_identifier
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event, unknown_identifier_label
from opensspr.core import clock
from opensspr.core.metrics import LOCKOUTS, SIGN_INS
from opensspr.core.request_meta import RequestMeta
from opensspr.directory import connector_for
from opensspr.directory.base import DirectoryError
from opensspr.directory.local import verify_dummy
from opensspr.policy.selectors import is_password_expired
from opensspr.signin import lockout


class SignInOutcome(StrEnum):
    SUCCESS = "success"
    INVALID = "invalid_credentials"
    LOCKED = "account_locked"
    DISABLED = "account_disabled"
    CHANGE_REQUIRED = "change_required"
    UNAVAILABLE = "directory_unavailable"


class ChangeReason(StrEnum):
    EXPIRED = "password_expired"
    ADMIN_RESET = "admin_reset"


@dataclass(frozen=True)
class SignInResult:
    outcome: SignInOutcome
    user: User | None = None
    locked_until: datetime | None = None
    change_reason: ChangeReason | None = None


def _label(user: User | None, key: str) -> str:
    return user.user_id if user else unknown_identifier_label(key)


def _audit(
    activity: str,
    *,
    outcome: Outcome,
    reason: str,
    user: User | None,
    key: str,
    meta: RequestMeta,
) -> None:
    record_event(
        activity=activity,
        outcome=outcome,
        reason=reason,
        meta=meta,
        actor=user,
        target=user,
        target_label=_label(user, key),
    )


def _check_password(user: User | None, password: str) -> bool:
    if user is None:
        verify_dummy(password)
        return False
    return connector_for(user).verify_password(user, password)


def register_wrong_password(
    *, user: User | None, key: str, password: str, now: datetime, meta: RequestMeta
) -> lockout.LockState:
    """Count a wrong password toward smart lockout and audit a lock when it lands.

    Shared by sign-in and password change, so the change form is no way around
    the lockout.
    """
    state = lockout.register_failure(lockout.lockout_key(key), password, now)
    if state.newly_locked:
        LOCKOUTS.inc()
        _audit(
            "signin.locked_out",
            outcome=Outcome.SUCCESS,
            reason="threshold_reached",
            user=user,
            key=key,
            meta=meta,
        )
    return state


def sign_in(*, identifier: str, password: str, meta: RequestMeta) -> SignInResult:
    key = identifier_key(identifier)
    now = clock.now()
    user = get_user_by_identifier(identifier)
    state = lockout.get_lock_state(lockout.lockout_key(key))
    if state.is_locked(now):
        result = SignInResult(SignInOutcome.LOCKED, locked_until=state.locked_until)
    else:
        try:
            correct = _check_password(user, password)
        except DirectoryError:
            result = SignInResult(SignInOutcome.UNAVAILABLE)
        else:
            if correct and user is not None:
                result = _right_password(user, key, now)
            else:
                result = _wrong_password(user=user, key=key, password=password, now=now, meta=meta)
    succeeded = result.outcome == SignInOutcome.SUCCESS
    with transaction.atomic():
        _audit(
            "signin.succeeded" if succeeded else "signin.failed",
            outcome=Outcome.SUCCESS if succeeded else Outcome.FAILURE,
            reason="" if succeeded else result.outcome.value,
            user=user,
            key=key,
            meta=meta,
        )
        if succeeded and result.user is not None:
            result.user.last_login = now
            result.user.save(update_fields=["last_login"])
    SIGN_INS.labels(result.outcome.value).inc()
    return result


def _wrong_password(
    *, user: User | None, key: str, password: str, now: datetime, meta: RequestMeta
) -> SignInResult:
    state = register_wrong_password(user=user, key=key, password=password, now=now, meta=meta)
    if state.is_locked(now):
        return SignInResult(SignInOutcome.LOCKED, locked_until=state.locked_until)
    return SignInResult(SignInOutcome.INVALID)


def _right_password(user: User, key: str, now: datetime) -> SignInResult:
    # Re-check the lock, which a parallel wrong guess may have set meanwhile.
    if lockout.get_lock_state(lockout.lockout_key(key)).is_locked(now):
        return SignInResult(SignInOutcome.LOCKED)
    lockout.clear(lockout.lockout_key(key))
    reason = None
    if user.must_change_password:
        reason = ChangeReason.ADMIN_RESET
    elif is_password_expired(user, now):
        reason = ChangeReason.EXPIRED
    if not user.account_enabled:
        return SignInResult(SignInOutcome.DISABLED, user=user)
    if reason is not None:
        return SignInResult(SignInOutcome.CHANGE_REQUIRED, user, change_reason=reason)
    return SignInResult(SignInOutcome.SUCCESS, user)


def unlock_sign_in(*, actor: User, user: User, meta: RequestMeta) -> None:
    """An administrator ends a smart lockout without waiting for it to run out."""
    if not can_manage_user(actor, user):
        raise PermissionDenied("only a global administrator unlocks an administrator")
    with transaction.atomic():
        lockout.clear(lockout.lockout_key(identifier_key(user.user_id)))
        record_event(
            activity="signin.unlocked_by_admin",
            outcome=Outcome.SUCCESS,
            meta=meta,
            actor=actor,
            target=user,
        )
