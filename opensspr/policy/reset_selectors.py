"""Facts for the eligibility engine, read from the directory and registrations.

Kept apart from ``selectors.py`` (password policy) so each module owns one
concept; nothing here writes.
"""

from opensspr.accounts.models import GuestKind, User, UserSource
from opensspr.accounts.selectors import is_member_of_group
from opensspr.directory import connector_for
from opensspr.directory.base import DirectoryError, HealthState
from opensspr.methods.models import AuthenticatorApp, SecurityAnswer
from opensspr.policy.eligibility import (
    Decision,
    PolicyFacts,
    Scope,
    UserFacts,
    Writeback,
    evaluate,
)
from opensspr.policy.kinds import MethodKind, RegisteredMethod
from opensspr.policy.models import SsprPolicy

_ALLOW_FIELDS = {
    MethodKind.EMAIL: "allow_email",
    MethodKind.MOBILE_SMS: "allow_mobile_sms",
    MethodKind.MOBILE_VOICE: "allow_mobile_voice",
    MethodKind.OFFICE_VOICE: "allow_office_voice",
    MethodKind.APP_CODE: "allow_app_code",
    MethodKind.APP_NOTIFICATION: "allow_app_notification",
    MethodKind.SECURITY_QUESTIONS: "allow_security_questions",
}


def get_sspr_policy() -> SsprPolicy:
    return SsprPolicy.objects.select_related("group").filter(pk=1).first() or SsprPolicy(pk=1)


def allowed_kinds(policy: SsprPolicy) -> frozenset[MethodKind]:
    return frozenset(kind for kind, name in _ALLOW_FIELDS.items() if getattr(policy, name))


def list_registered_methods(user: User, policy: SsprPolicy) -> tuple[RegisteredMethod, ...]:
    """Every method ``user`` has data for, proven or set by an administrator (§8.3)."""
    found: list[RegisteredMethod] = []
    if user.auth_email:
        found.append(RegisteredMethod(MethodKind.EMAIL, f"email:{user.auth_email.casefold()}"))
    if user.mobile_phone:
        channel = f"phone:{user.mobile_phone}"
        found += [
            RegisteredMethod(MethodKind.MOBILE_SMS, channel),
            RegisteredMethod(MethodKind.MOBILE_VOICE, channel),
        ]
    if user.office_phone:
        found.append(RegisteredMethod(MethodKind.OFFICE_VOICE, f"phone:{user.office_phone}"))
    if AuthenticatorApp.objects.filter(user=user, confirmed_at__isnull=False).exists():
        found.append(RegisteredMethod(MethodKind.APP_CODE, "app"))
    if SecurityAnswer.objects.filter(user=user).count() >= policy.questions_to_register:
        found.append(RegisteredMethod(MethodKind.SECURITY_QUESTIONS, "questions"))
    return tuple(found)


def writeback_state(user: User) -> Writeback:
    if user.source == UserSource.CLOUD:
        return Writeback.NOT_NEEDED
    try:
        health = connector_for(user).check_health()
    except DirectoryError:
        return Writeback.UNREACHABLE
    return Writeback.AVAILABLE if health.state == HealthState.HEALTHY else Writeback.UNREACHABLE


def eligibility_for(user: User | None, policy: SsprPolicy | None = None) -> Decision:
    """The full decision for ``user`` (None: an unknown user ID) under the current policy."""
    policy = policy or get_sspr_policy()
    in_group = bool(
        user is not None and policy.group is not None and is_member_of_group(user, policy.group)
    )
    facts = PolicyFacts(
        scope=Scope(policy.scope),
        in_scope_group=in_group,
        methods_required=policy.methods_required,
        allowed=allowed_kinds(policy),
        admins_may_reset=policy.admins_may_reset,
        writeback_enabled=policy.writeback_enabled,
    )
    if user is None:
        return evaluate(facts, UserFacts(exists=False), Writeback.NOT_NEEDED)
    person = UserFacts(
        exists=True,
        is_admin=user.is_administrator,
        enabled=user.account_enabled,
        licensed=user.sspr_licensed,
        personal_account_guest=user.guest_kind == GuestKind.PERSONAL_ACCOUNT,
        synced=user.source == UserSource.SYNCED,
        registered=list_registered_methods(user, policy),
    )
    writeback = (
        writeback_state(user)
        if person.synced and policy.writeback_enabled
        else (Writeback.NOT_NEEDED)
    )
    return evaluate(facts, person, writeback)
