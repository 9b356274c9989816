"""The one place that maps a method kind to its implementation."""

from opensspr.methods.base import VerificationMethod
from opensspr.methods.contact import EmailCodeMethod, SmsCodeMethod, VoiceCallMethod
from opensspr.methods.questions import SecurityQuestionsMethod
from opensspr.methods.totp import TotpMethod
from opensspr.policy.kinds import MethodKind

_METHODS: dict[MethodKind, VerificationMethod] = {
    MethodKind.EMAIL: EmailCodeMethod(),
    MethodKind.MOBILE_SMS: SmsCodeMethod(),
    MethodKind.MOBILE_VOICE: VoiceCallMethod(MethodKind.MOBILE_VOICE),
    MethodKind.OFFICE_VOICE: VoiceCallMethod(MethodKind.OFFICE_VOICE),
    MethodKind.APP_CODE: TotpMethod(),
    MethodKind.SECURITY_QUESTIONS: SecurityQuestionsMethod(),
}


def get_method(kind: MethodKind) -> VerificationMethod | None:
    """The implementation of ``kind``, or None while it isn't built yet."""
    return _METHODS.get(kind)


def implemented_kinds() -> frozenset[MethodKind]:
    return frozenset(_METHODS)
