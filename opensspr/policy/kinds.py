"""The verification methods, as the policy and the reset flow name them.

A *kind* is what the person chooses ("text my mobile phone"); a *channel* is the
piece of authentication data it reaches (an email address, an E.164 number, an
app registration, the set of security answers). Two gates must differ in both
(attack A17): a text and a call to the same number are one channel.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class MethodKind(StrEnum):
    EMAIL = "email"
    MOBILE_SMS = "mobile_sms"
    MOBILE_VOICE = "mobile_voice"
    OFFICE_VOICE = "office_voice"
    APP_CODE = "app_code"
    APP_NOTIFICATION = "app_notification"
    SECURITY_QUESTIONS = "security_questions"

    @property
    def label(self) -> str:
        return str(LABELS[self])


LABELS = {
    MethodKind.EMAIL: _("Email my alternate email"),
    MethodKind.MOBILE_SMS: _("Text my mobile phone"),
    MethodKind.MOBILE_VOICE: _("Call my mobile phone"),
    MethodKind.OFFICE_VOICE: _("Call my office phone"),
    MethodKind.APP_CODE: _("Enter a code from my authenticator app"),
    MethodKind.APP_NOTIFICATION: _("Approve a notification on my authenticator app"),
    MethodKind.SECURITY_QUESTIONS: _("Answer my security questions"),
}

#: What administrators may use, whatever the user policy allows (reference §3).
ADMIN_KINDS = frozenset(
    {
        MethodKind.EMAIL,
        MethodKind.MOBILE_SMS,
        MethodKind.MOBILE_VOICE,
        MethodKind.OFFICE_VOICE,
        MethodKind.APP_CODE,
    }
)


@dataclass(frozen=True)
class RegisteredMethod:
    """A method a user can use, with the channel it reaches (normalised)."""

    kind: MethodKind
    channel: str  # "email:a@b.example", "phone:+316…", "app:<id>", "questions"
