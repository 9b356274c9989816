"""Changing a known password (reference §12.3), voluntary or forced at sign-in.

The current password is checked by the directory that owns it, and a wrong one
counts toward smart lockout exactly like a failed sign-in, so the change form is
not a way to guess passwords without limit. The new password must pass the
organisation's policy (and, for a synchronised user, the directory's own).
"""

from dataclasses import dataclass, field
from enum import StrEnum

from django.db import transaction

from opensspr.accounts.identifiers import identifier_key
from opensspr.accounts.models import User
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.core import clock
from opensspr.core.metrics import PASSWORD_CHANGES
from opensspr.core.request_meta import RequestMeta
from opensspr.directory import connector_for, writeback
from opensspr.directory.base import (
    DirectoryConnector,
    DirectoryError,
    DirectoryRejectedError,
    DirectoryUnavailableError,
    OnPremisesConnector,
)
from opensspr.directory.errors import REJECTION_CODES, DirectoryAccountError, DirectoryCode
from opensspr.directory.models import IntentState
from opensspr.policy.passwords import RuleFailure, check_password
from opensspr.policy.selectors import get_password_profile, password_context_for
from opensspr.signin import lockout
from opensspr.signin.services import lock_key_for, register_wrong_password


class ChangeOutcome(StrEnum):
    CHANGED = "changed"
    WRONG_CURRENT = "wrong_current_password"
    LOCKED = "account_locked"
    POLICY_REJECTED = "policy_rejected"
    DIRECTORY_REJECTED = "directory_rejected"
    UNAVAILABLE = "directory_unavailable"


@dataclass(frozen=True)
class ChangeResult:
    outcome: ChangeOutcome
    failures: tuple[RuleFailure, ...] = field(default=())
    directory_reason: str = ""

    @property
    def changed(self) -> bool:
        return self.outcome == ChangeOutcome.CHANGED


def _audit_failure(user: User, reason: str, meta: RequestMeta, forced_reason: str) -> None:
    record_event(
        activity=Activity.PASSWORD_CHANGE_FAILED,
        outcome=Outcome.FAILURE,
        reason=reason,
        meta=meta,
        actor=user,
        target=user,
        details={"forced": forced_reason} if forced_reason else None,
    )


def change_password(
    *,
    user: User,
    current_password: str,
    new_password: str,
    meta: RequestMeta,
    forced_reason: str = "",
) -> ChangeResult:
    """Change ``user``'s password; ``forced_reason`` names why sign-in demanded it."""
    result = _change(user, current_password, new_password, meta, forced_reason)
    PASSWORD_CHANGES.labels(result.outcome.value).inc()
    return result


def _change(user: User, current: str, new: str, meta: RequestMeta, forced: str) -> ChangeResult:
    now = clock.now()
    key = identifier_key(user.user_id)
    lock_key = lock_key_for(key, meta, now)
    # Reserved before comparing: parallel guesses never pass the lockout threshold.
    reservation = lockout.reserve_attempt(lock_key, current, now)
    if not reservation.allowed:
        _audit_failure(user, ChangeOutcome.LOCKED, meta, forced)
        return ChangeResult(ChangeOutcome.LOCKED)
    connector = connector_for(user)
    try:
        correct = _current_is_right(connector, user, current)
    except DirectoryError as exc:
        lockout.give_back(reservation)  # nothing was compared
        locked = exc.code == DirectoryCode.ACCOUNT_LOCKED
        outcome = ChangeOutcome.LOCKED if locked else ChangeOutcome.UNAVAILABLE
        _audit_failure(user, f"directory:{exc.code}" if locked else outcome, meta, forced)
        return ChangeResult(outcome)
    if correct:
        lockout.give_back(reservation)
    else:
        state = register_wrong_password(
            user=user, key=key, password=current, now=now, meta=meta, reservation=reservation
        )
        outcome = ChangeOutcome.LOCKED if state.is_locked(now) else ChangeOutcome.WRONG_CURRENT
        _audit_failure(user, outcome, meta, forced)
        return ChangeResult(outcome)
    verdict = check_password(
        new,
        profile=get_password_profile(),
        context=password_context_for(user, current_password=current),
    )
    if not verdict.accepted:
        _audit_failure(user, verdict.failures[0].code, meta, forced)
        return ChangeResult(ChangeOutcome.POLICY_REJECTED, failures=verdict.failures)
    if isinstance(connector, OnPremisesConnector):
        return _write_back(
            user, connector, current=current, new=new, meta=meta, forced=forced, lock_key=lock_key
        )
    return _write(
        user, connector, current=current, new=new, meta=meta, forced=forced, lock_key=lock_key
    )


PURPOSE = "change"


def _current_is_right(connector: DirectoryConnector, user: User, current: str) -> bool:
    """The directory's verdict on the current password; raises what it can't decide.

    A directory tells "must change" and "expired" only for the right password;
    a lock, an outage or a set-up problem is raised for the caller.
    """
    try:
        return connector.verify_password(user, current)
    except DirectoryAccountError as exc:
        if exc.code in (DirectoryCode.MUST_CHANGE_PASSWORD, DirectoryCode.PASSWORD_EXPIRED):
            return True
        if exc.code == DirectoryCode.ACCOUNT_LOCKED:
            raise
        return False


def _write_back(
    user: User,
    connector: OnPremisesConnector,
    *,
    current: str,
    new: str,
    meta: RequestMeta,
    forced: str,
    lock_key: str,
) -> ChangeResult:
    """A synced person's change, sent to their directory (crash-safe: ``directory.writeback``)."""
    context = {"meta": writeback.meta_context(meta), "forced": forced, "lock_key": lock_key}
    try:
        intent = writeback.begin(connector, user, PURPOSE, context)
    except DirectoryError as exc:
        _audit_failure(user, f"directory:{exc.code}", meta, forced)
        return ChangeResult(ChangeOutcome.UNAVAILABLE)
    outcome = writeback.run(
        connector, intent, lambda: connector.change_password(user, current, new)
    )
    if outcome.state == IntentState.APPLIED:
        return ChangeResult(ChangeOutcome.CHANGED)
    error = outcome.error
    if isinstance(error, DirectoryRejectedError):
        return ChangeResult(ChangeOutcome.DIRECTORY_REJECTED, directory_reason=error.code)
    if isinstance(error, DirectoryAccountError) and error.code == DirectoryCode.WRONG_PASSWORD:
        return ChangeResult(ChangeOutcome.WRONG_CURRENT)  # changed since the check above
    return ChangeResult(
        ChangeOutcome.UNAVAILABLE, directory_reason=str(error.code if error else "")
    )


def finish_change(settled: writeback.Settled) -> None:
    """Record how a change's directory write ended (the "change" finisher)."""
    intent = settled.intent
    meta = writeback.meta_of(intent)
    forced = str(intent.context.get("forced") or "")
    if settled.applied:
        _record_changed(intent.user, meta, forced, str(intent.context.get("lock_key") or ""))
    elif settled.reason in REJECTION_CODES:
        _audit_failure(intent.user, f"directory:{settled.reason}", meta, forced)
    else:
        _audit_failure(intent.user, settled.reason or ChangeOutcome.UNAVAILABLE, meta, forced)


def _record_changed(user: User, meta: RequestMeta, forced: str, lock_key: str) -> None:
    user.must_change_password = False
    user.temporary_password_expires_at = None
    user.save(update_fields=["must_change_password", "temporary_password_expires_at"])
    if lock_key:
        lockout.clear(lock_key)
    record_event(
        activity=Activity.PASSWORD_CHANGED_FORCED if forced else Activity.PASSWORD_CHANGED,
        outcome=Outcome.SUCCESS,
        meta=meta,
        actor=user,
        target=user,
        reason=forced,
    )


def _write(
    user: User,
    connector: DirectoryConnector,
    *,
    current: str,
    new: str,
    meta: RequestMeta,
    forced: str,
    lock_key: str,
) -> ChangeResult:
    try:
        with transaction.atomic():
            connector.change_password(user, current, new)
            _record_changed(user, meta, forced, lock_key)
    except DirectoryRejectedError as exc:
        _audit_failure(user, f"directory:{exc.code}", meta, forced)
        return ChangeResult(ChangeOutcome.DIRECTORY_REJECTED, directory_reason=exc.code)
    except DirectoryUnavailableError:
        _audit_failure(user, ChangeOutcome.UNAVAILABLE, meta, forced)
        return ChangeResult(ChangeOutcome.UNAVAILABLE)
    return ChangeResult(ChangeOutcome.CHANGED)
