"""The flow's audit trail, and the block that ends a flow.

Every event of one flow carries the flow's correlation id (set when it
started), whichever request wrote it, so an operator follows one reset from
start to end (docs/operators/audit.md). A step writes its event in the
transaction that makes its change.
"""

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import NoReturn

from django.db import transaction

from opensspr.accounts.models import User
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import unknown_identifier_label
from opensspr.core.request_meta import RequestMeta
from opensspr.methods.challenges import record_challenge_event
from opensspr.policy.kinds import MethodKind
from opensspr.registration.proven import mark_proven_by_reset
from opensspr.resets.flow.errors import FlowBlockedError, FlowError
from opensspr.resets.flow.transitions import Step, advance
from opensspr.resets.flow.view import view
from opensspr.resets.models import ResetFlow
from opensspr.signin import devices, lockout, sources
from opensspr.throttles import rules, service, subjects
from opensspr.throttles.rules import Rule, Scope


def flow_meta(flow: ResetFlow, meta: RequestMeta) -> RequestMeta:
    """``meta`` of this request, carrying the flow's correlation id."""
    if not flow.correlation_id or meta.correlation_id == flow.correlation_id:
        return meta
    return replace(meta, correlation_id=flow.correlation_id)


def audit(
    flow: ResetFlow,
    activity: Activity,
    meta: RequestMeta,
    *,
    outcome: Outcome = Outcome.SUCCESS,
    reason: str = "",
    details: Mapping[str, object] | None = None,
) -> None:
    """One event of ``flow``; call inside the transaction that makes the change."""
    record_challenge_event(
        flow.user,
        activity,
        flow_meta(flow, meta),
        outcome=outcome,
        reason=reason,
        target_label=flow.user.user_id if flow.user else unknown_identifier_label(flow.subject),
        details=details,
    )


def block(
    flow: ResetFlow, meta: RequestMeta, now: datetime, *, why: str, reason: str = "throttled"
) -> NoReturn:
    """End ``flow`` for good, audited, committed on its own; then raise with its last page.

    Written in its own transaction so the block sticks when the step that hit it
    then fails (reference §5.1).
    """
    with transaction.atomic():
        handle = advance(flow, Step.BLOCK, reason=reason)
        audit(flow, Activity.RESET_BLOCKED, meta, outcome=Outcome.FAILURE, reason=why)
    raise FlowBlockedError(view(flow, handle, now))


def failure_subject(flow: ResetFlow, meta: RequestMeta, now: datetime, method: str) -> str:
    """Where this request's wrong answers count: the typed ID, from a familiar network or
    device or not.

    A person's familiar networks and devices (where they signed in lately) count apart, so
    wrong answers sent from elsewhere can't block them at home or on their own laptop
    (attack A21). A user ID no one signed in with has neither: unknown IDs always count
    "elsewhere".
    """
    user = flow.user
    cached = getattr(flow, "_familiar_from", None)  # asked twice a step: read once
    if cached is not None and cached[0] == (meta.ip_address, meta.device):
        familiar = cached[1]
    else:
        familiar = user is not None and (
            devices.is_familiar(user.user_id_key, meta.device)
            or _network_familiar(flow, user, meta, now)
        )
        flow._familiar_from = ((meta.ip_address, meta.device), familiar)  # type: ignore[attr-defined]
    return subjects.failure_subject(flow.subject, familiar=familiar, method=method)


def _network_familiar(flow: ResetFlow, user: User, meta: RequestMeta, now: datetime) -> bool:
    """Asked at the start, with the person (``start_flow``); asked again only from another
    network."""
    network = sources.network_of(meta.ip_address)
    if network and network == flow.network:
        return flow.network_familiar
    return sources.is_familiar(user.user_id_key, meta.ip_address, now)


def clear_counts(flow: ResetFlow, user: User) -> None:
    """A reset or unlock succeeded: the sign-in lockout ("I forgot" ends it, §5.4) and
    every reset count of this user ID start afresh (§5.1), in two statements."""
    methods = [kind.value for kind in MethodKind]
    service.forget(
        {
            Scope.SIGNIN_LOCKOUT: lockout.all_keys(user.user_id_key),
            Scope.SSPR: subjects.all_subjects(flow.subject, methods),
        }
    )


def paused_until(flow: ResetFlow, meta: RequestMeta, now: datetime, method: str) -> datetime | None:
    """Until when wrong answers with ``method`` pause it for this user ID, from this kind of
    network (any flow's: the count is the user ID's)."""
    subject = failure_subject(flow, meta, now, method)
    return service.blocked_until(rules.SSPR_VERIFY_FAILURE, subject, now=now)


def stop_if_blocked(flow: ResetFlow, meta: RequestMeta, now: datetime, method: str) -> None:
    """Wait out a short pause of ``method`` (``paused``); a block ends this flow's gate."""
    until = paused_until(flow, meta, now, method)
    if until is None:
        return
    if (wait := rules.VERIFY_PAUSES.wait(until, now)) is not None:
        raise FlowError("paused", retry_after=wait)
    block(flow, meta, now, why="blocked_elsewhere")


def limit_name(rule: Rule) -> str:
    """The §5.1 limit as audited and shown (``"sms"``): the rule's name without its scope."""
    return rule.name.removeprefix(f"{rule.scope}.")


def count_or_block(flow: ResetFlow, rule: Rule, meta: RequestMeta, now: datetime) -> None:
    """Count one use of ``rule`` for the flow's user ID; over its limit the flow ends (blocked)."""
    if not service.hit(rule, flow.subject, now=now).allowed:
        block(flow, meta, now, why=limit_name(rule))


#: New passwords refused (by our rules or the directory's) before the flow ends.
MAX_PASSWORD_TRIES = 5


def count_rejected_password(flow: ResetFlow, meta: RequestMeta, reason: str) -> str:
    """One more refused new password, audited; the last allowed one ends the flow (blocked).

    Call inside the caller's transaction; returns the flow's new handle.
    """
    tries = flow.password_attempts + 1
    if tries >= MAX_PASSWORD_TRIES:
        handle = advance(flow, Step.BLOCK, password_attempts=tries, reason="too_many_passwords")
    else:
        handle = advance(flow, Step.REJECT_PASSWORD, password_attempts=tries)
    audit(
        flow,
        Activity.RESET_PASSWORD_REJECTED,
        meta,
        outcome=Outcome.FAILURE,
        reason=reason,
        details={"attempt": tries},
    )
    return handle


def close_the_forgotten_password(flow: ResetFlow, user: User) -> None:
    """The new password is set: a pending temporary password, the sign-in lockout ("I
    forgot" ends it, §5.4) and every reset count of the ID are over, and an email or
    number the codes reached is proven (``registration.proven.mark_proven_by_reset``)."""
    mark_proven_by_reset(user=user, gates=list(flow.gates_passed))
    if user.must_change_password or user.temporary_password_expires_at:
        user.must_change_password = False
        user.temporary_password_expires_at = None
        user.save(update_fields=["must_change_password", "temporary_password_expires_at"])
    clear_counts(flow, user)
