"""The end of a flow: every gate passed, then the new password or the unlock.

The password is written through the directory connector that owns it, with the
account unlocked; a policy rejection (ours or the directory's) keeps the flow
verified for a limited number of tries. On success the sign-in lockout and the
reset throttles are cleared and the notifications queued, in one transaction with
the audit row.
"""

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from opensspr.accounts.models import User
from opensspr.accounts.selectors import get_organisation, list_administrators
from opensspr.audit.models import Outcome
from opensspr.channels import MessageKind, OutgoingMessage, enqueue_message
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.directory import connector_for
from opensspr.directory.base import DirectoryError, DirectoryRejectedError
from opensspr.policy.passwords import RuleFailure, check_password
from opensspr.policy.reset_selectors import get_sspr_policy
from opensspr.policy.selectors import get_password_profile, password_context_for
from opensspr.resets import throttles
from opensspr.resets.flow import (
    FlowError,
    FlowView,
    advance,
    audit,
    load_flow,
    recheck,
    view,
)
from opensspr.resets.models import FlowState, Operation, ResetFlow
from opensspr.signin import lockout

MAX_PASSWORD_TRIES = 5


class PasswordRejectedError(FlowError):
    """The new password failed a rule; the flow stays verified (``view``)."""

    def __init__(self, final: FlowView, failures: tuple[RuleFailure, ...], code: str) -> None:
        super().__init__(code)
        self.view = final
        self.failures = failures


def gates_complete(
    flow: ResetFlow, gates: list[dict[str, str]], meta: RequestMeta, now: datetime
) -> FlowView:
    if flow.operation == Operation.UNLOCK:
        return _unlock(flow, gates, meta, now)
    handle = advance(flow, gates_passed=gates, state=FlowState.NEW_PASSWORD, verified_at=now)
    return view(flow, handle, now)


def _unlock(
    flow: ResetFlow, gates: list[dict[str, str]], meta: RequestMeta, now: datetime
) -> FlowView:
    """Unlock without a reset (reference §1.7): the directory's lock and ours end."""
    user = flow.user
    if user is None or flow.decoy:  # a decoy never passes a gate
        raise FlowError("wrong_step")
    try:
        with transaction.atomic():
            connector_for(user).unlock(user)
            lockout.clear(*lockout.all_keys(user.user_id_key))
            throttles.clear(flow.subject)
            handle = advance(
                flow, gates_passed=gates, state=FlowState.DONE, verified_at=now, completed_at=now
            )
            audit(flow, "unlock.completed", meta)
            _notify(user, meta, unlocked=True)
    except DirectoryError as exc:
        audit(flow, "unlock.failed", meta, outcome=Outcome.FAILURE, reason=exc.code)
        raise FlowError("directory_unavailable") from None
    return view(flow, handle, now)


def set_new_password(*, handle: str, new_password: str, meta: RequestMeta) -> FlowView:
    now = clock.now()
    flow = load_flow(handle, now)
    if flow.state != FlowState.NEW_PASSWORD or flow.user is None or flow.decoy:
        raise FlowError("wrong_step")
    recheck(flow, meta, now)
    user = flow.user
    verdict = check_password(
        new_password, profile=get_password_profile(), context=password_context_for(user)
    )
    if not verdict.accepted:
        _reject(flow, meta, now, verdict.failures, verdict.failures[0].code)
    try:
        with transaction.atomic():
            connector_for(user).set_password(user, new_password, unlock=True)
            user.must_change_password = False
            user.temporary_password_expires_at = None
            user.save(update_fields=["must_change_password", "temporary_password_expires_at"])
            lockout.clear(*lockout.all_keys(user.user_id_key))  # "I forgot": lockout ends
            throttles.clear(flow.subject)
            new = advance(flow, state=FlowState.DONE, completed_at=now)
            audit(flow, "reset.completed", meta)
            _notify(user, meta, unlocked=False)
    except DirectoryRejectedError as exc:
        _reject(flow, meta, now, (), f"directory:{exc.code}")
    except DirectoryError:
        audit(flow, "reset.failed", meta, outcome=Outcome.FAILURE, reason="directory_unavailable")
        raise FlowError("directory_unavailable") from None
    return view(flow, new, now)


def _reject(
    flow: ResetFlow, meta: RequestMeta, now: datetime, failures: tuple[RuleFailure, ...], code: str
) -> None:
    tries = flow.password_attempts + 1
    final = tries >= MAX_PASSWORD_TRIES
    handle = advance(
        flow,
        password_attempts=tries,
        **({"state": FlowState.BLOCKED, "reason": "too_many_passwords"} if final else {}),
    )
    audit(
        flow,
        "reset.password_rejected",
        meta,
        outcome=Outcome.FAILURE,
        reason=code,
        details={"attempt": tries},
    )
    raise PasswordRejectedError(view(flow, handle, now), failures, code)


def _notify(user: User, meta: RequestMeta, *, unlocked: bool) -> None:
    """Tell the person, and for an administrator the other administrators (reference §9)."""
    policy = get_sspr_policy()
    organisation = get_organisation().name
    if policy.notify_users:
        subject = (
            _("Your %(organisation)s account was unlocked")
            if unlocked
            else _("Your %(organisation)s password was reset")
        ) % {"organisation": organisation}
        body = (
            (
                _("The account %(user_id)s was unlocked just now through self-service.")
                if unlocked
                else _("The password of %(user_id)s was reset just now through self-service.")
            )
            % {"user_id": user.user_id}
            + "\n\n"
            + _(
                "If this was you, there is nothing more to do. If it wasn't, contact your "
                "helpdesk at once."
            )
        )
        for address in sorted({a for a in (user.email, user.auth_email) if a} or {user.user_id}):
            enqueue_message(
                OutgoingMessage(
                    kind=MessageKind.EMAIL,
                    to=address,
                    purpose="reset.notification",
                    subject=subject,
                    body=body,
                    idempotency_key=f"notify:{meta.correlation_id}:{address}",
                    correlation_id=meta.correlation_id,
                ),
                meta=meta,
            )
    if policy.notify_admins and user.is_administrator and not unlocked:
        for admin in list_administrators().exclude(pk=user.pk).exclude(email="")[:100]:
            enqueue_message(
                OutgoingMessage(
                    kind=MessageKind.EMAIL,
                    to=admin.email,
                    purpose="reset.admin_notification",
                    subject=_("An administrator of %(organisation)s reset their password")
                    % {"organisation": organisation},
                    body=_(
                        "The administrator %(user_id)s reset their own password through "
                        "self-service just now. If you don't expect this, check with them."
                    )
                    % {"user_id": user.user_id},
                    idempotency_key=f"notify-admin:{meta.correlation_id}:{admin.pk}",
                    correlation_id=meta.correlation_id,
                ),
                meta=meta,
            )
