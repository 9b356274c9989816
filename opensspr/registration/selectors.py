"""Reads for security info: what is registered, what the policy allows, who to interrupt.

Nothing here writes. Whether someone may reset comes from the eligibility engine
(``policy.reset_selectors.eligibility_for``); this module only reads its checks.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from opensspr.accounts.models import User
from opensspr.channels import mask_email, mask_phone
from opensspr.core import clock
from opensspr.methods.models import AuthenticatorApp, SecurityAnswer
from opensspr.policy.eligibility import Decision, Reason
from opensspr.policy.kinds import MethodKind
from opensspr.policy.models import SsprPolicy
from opensspr.policy.reset_selectors import eligibility_for, get_sspr_policy
from opensspr.registration.models import RegistrationState
from opensspr.registration.notify import Item
from opensspr.registration.session import InterruptMode

ENOUGH_METHODS = "enough_methods"


def allowed_items(user: User, policy: SsprPolicy) -> frozenset[Item]:
    """What the person may add or change; questions never for administrators (§4.6)."""
    allowed = {
        Item.AUTH_EMAIL: policy.allow_email,
        Item.MOBILE_PHONE: policy.allow_mobile_sms or policy.allow_mobile_voice,
        Item.OFFICE_PHONE: policy.allow_office_voice,
        Item.AUTHENTICATOR_APP: policy.allow_app_code,
        Item.SECURITY_QUESTIONS: policy.allow_security_questions and not user.is_administrator,
    }
    return frozenset(item for item, ok in allowed.items() if ok)


def phone_kinds(item: Item, policy: SsprPolicy) -> tuple[MethodKind, ...]:
    """How a new number may be proven: the ways the policy lets it be used at reset."""
    if item == Item.OFFICE_PHONE:
        return (MethodKind.OFFICE_VOICE,) if policy.allow_office_voice else ()
    kinds = []
    if policy.allow_mobile_sms:
        kinds.append(MethodKind.MOBILE_SMS)
    if policy.allow_mobile_voice:
        kinds.append(MethodKind.MOBILE_VOICE)
    return tuple(kinds)


@dataclass(frozen=True)
class Entry:
    """One row of the security-info list."""

    item: Item
    shown_as: str  # masked value, "" when not registered
    allowed: bool  # the policy lets the person add or change it
    proven: bool = False  # proven by the person (else set by an administrator)
    app_id: int | None = None
    added_at: datetime | None = None
    count: int = 0  # security answers registered

    @property
    def registered(self) -> bool:
        return bool(self.shown_as or self.count)


@dataclass(frozen=True)
class SecurityInfo:
    entries: tuple[Entry, ...]
    decision: Decision
    questions_to_register: int
    can_add_app: bool

    @property
    def failed_reasons(self) -> tuple[Reason, ...]:
        return tuple(c.reason for c in self.decision.checks if not c.passed and c.reason)


def _masked(item: Item, value: str) -> str:
    if not value:
        return ""
    return mask_email(value) if item == Item.AUTH_EMAIL else mask_phone(value)


def _state(user: User) -> RegistrationState:
    return RegistrationState.objects.filter(user=user).first() or RegistrationState(user=user)


def get_security_info(user: User) -> SecurityInfo:
    policy = get_sspr_policy()
    allowed = allowed_items(user, policy)
    state = _state(user)
    entries: list[Entry] = []
    for item, value, proven_at in (
        (Item.AUTH_EMAIL, user.auth_email, state.auth_email_proven_at),
        (Item.MOBILE_PHONE, user.mobile_phone, state.mobile_phone_proven_at),
        (Item.OFFICE_PHONE, user.office_phone, state.office_phone_proven_at),
    ):
        if value or item in allowed:
            entries.append(
                Entry(item, _masked(item, value), item in allowed, proven_at is not None)
            )
    apps = list(AuthenticatorApp.objects.filter(user=user, confirmed_at__isnull=False))
    entries += [
        Entry(
            Item.AUTHENTICATOR_APP,
            app.name,
            Item.AUTHENTICATOR_APP in allowed,
            proven=True,
            app_id=app.pk,
            added_at=app.confirmed_at,
        )
        for app in apps
    ]
    answers = SecurityAnswer.objects.filter(user=user).count()
    if answers or Item.SECURITY_QUESTIONS in allowed:
        entries.append(
            Entry(
                Item.SECURITY_QUESTIONS,
                "",
                Item.SECURITY_QUESTIONS in allowed,
                proven=bool(answers),
                count=answers,
            )
        )
    return SecurityInfo(
        entries=tuple(entries),
        decision=eligibility_for(user, policy),
        questions_to_register=policy.questions_to_register,
        can_add_app=Item.AUTHENTICATOR_APP in allowed and len(apps) < 5,
    )


def only_methods_missing(decision: Decision) -> bool:
    """Enabled for self-service reset in every way, except for registering enough methods."""
    failed = [c.name for c in decision.checks if not c.passed]
    return failed == [ENOUGH_METHODS]


def has_enough_methods(decision: Decision) -> bool:
    return all(c.passed for c in decision.checks if c.name == ENOUGH_METHODS)


def reconfirmation_due(user: User, days: int, now: datetime) -> bool:
    """``days`` after the last confirmation.

    Someone who never confirmed (their data came from an administrator or an
    import) is counted from the day their account was created: asked once the
    interval has passed, not all at once on the day data was loaded.
    """
    since = _state(user).confirmed_at or user.created_at
    return since + timedelta(days=days) <= now


def interrupt_for(user: User) -> InterruptMode | None:
    """Whether a sign-in that just succeeded must stop at security info first (§8.1, §8.4)."""
    policy = get_sspr_policy()
    if not policy.registration_required:
        return None
    decision = eligibility_for(user, policy)
    if only_methods_missing(decision):
        return InterruptMode.REGISTER
    if (
        decision.eligible
        and policy.reconfirm_days > 0
        and reconfirmation_due(user, policy.reconfirm_days, clock.now())
    ):
        return InterruptMode.RECONFIRM
    return None
