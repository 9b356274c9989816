"""What each message purpose is, in words: the demo outbox shows these, not the keys.

A purpose is the stable key a caller gives ``OutgoingMessage`` (metrics and the audit
carry it); an unknown one shows as itself.
"""

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

LABELS: dict[str, Promise] = {
    "reset.code": _("Password reset: verification code"),
    "reset.call": _("Password reset: verification call"),
    "reset.notification": _("Your password was reset"),
    "reset.admin_notification": _("An administrator's password was reset"),
    "reset.admin_help": _("Someone asks an administrator for help"),
    "reset.admin_help_digest": _("Requests for help, together"),
    "reset.recovery_requested": _("Recovery request for the helpdesk"),
    "registration.code": _("Security info: verification code"),
    "registration.call": _("Security info: verification call"),
    "registration.notification": _("Your security info changed"),
    "registration.identity_blocked": _("Too many wrong codes"),
    "registration.reminder": _("Reminder to set up password reset"),
}


def purpose_label(purpose: str) -> str:
    label = LABELS.get(purpose)
    return str(label) if label is not None else purpose
