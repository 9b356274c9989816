"""Telling people a reset or unlock happened (reference §9): the person, and for an
administrator's own reset the other administrators.

Queued in the transaction that completes the flow; the messages carry the flow's
correlation id.
"""

from django.utils.translation import gettext as _

from opensspr.accounts.models import User
from opensspr.accounts.selectors import get_organisation, list_administrators
from opensspr.channels import MessageKind, OutgoingMessage, enqueue_message
from opensspr.core.request_meta import RequestMeta
from opensspr.policy.models import SsprPolicy


def person_notification(user_id: str, organisation: str, *, unlocked: bool) -> tuple[str, str]:
    """The subject and body telling a person their reset or unlock happened (also the
    console's preview of the emails' closing words)."""
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
        % {"user_id": user_id}
        + "\n\n"
        + _(
            "If this was you, there is nothing more to do. If it wasn't, contact your "
            "helpdesk at once."
        )
    )
    return subject, body


def notify_done(user: User, meta: RequestMeta, policy: SsprPolicy, *, unlocked: bool) -> None:
    """Tell the person, and for an administrator the other administrators (reference §9)."""
    organisation = get_organisation().name
    if policy.notify_users:
        subject, body = person_notification(user.user_id, organisation, unlocked=unlocked)
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
