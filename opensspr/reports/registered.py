"""What a person has registered, and which of it they proved: read-only, secret-free.

The report and the console's user page speak about pieces of *data* (an email
address, a mobile number, an app, a set of answers), as the reference's
registration report does (§10.3, §10.4), not about the ways of using them (a
text and a call to the same mobile number are one registration).

Nothing here reads an answer, an answer's hash, an app's seed or even which
questions a person chose: knowing which questions someone picked tells a guesser
what to research. Counts and dates only.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from opensspr.accounts.models import User
from opensspr.methods.models import AuthenticatorApp, SecurityAnswer
from opensspr.policy.models import SsprPolicy
from opensspr.registration.models import RegistrationState


class DataKind(StrEnum):
    EMAIL = "email"
    MOBILE_PHONE = "mobile_phone"
    OFFICE_PHONE = "office_phone"
    AUTHENTICATOR_APP = "authenticator_app"
    SECURITY_QUESTIONS = "security_questions"

    @property
    def label(self) -> str:
        return str(DATA_LABELS[self])


DATA_LABELS = {
    DataKind.EMAIL: _("Authentication email"),
    DataKind.MOBILE_PHONE: _("Mobile phone"),
    DataKind.OFFICE_PHONE: _("Office phone"),
    DataKind.AUTHENTICATOR_APP: _("Authenticator app"),
    DataKind.SECURITY_QUESTIONS: _("Security questions"),
}

# Contact data lives on the user; its proof on the registration state.
_CONTACT = (
    (DataKind.EMAIL, "auth_email"),
    (DataKind.MOBILE_PHONE, "mobile_phone"),
    (DataKind.OFFICE_PHONE, "office_phone"),
)


@dataclass(frozen=True)
class MethodStatus:
    kind: DataKind
    # The person proved it themselves. An administrator's or an import's value is
    # usable but unproven (reference §8.3). Apps count only once confirmed and only
    # the person can answer questions, so those are always proven.
    proven: bool


@dataclass(frozen=True)
class RegistrationSummary:
    methods: tuple[MethodStatus, ...]  # registered data only, in DataKind order
    confirmed_apps: int
    answers: int  # how many questions the person answered (maybe too few to count)
    answers_required: int  # the policy's "questions required to register"
    confirmed_at: datetime | None  # last registration or reconfirmation; None: never

    def status(self, kind: DataKind) -> MethodStatus | None:
        return next((m for m in self.methods if m.kind == kind), None)

    @property
    def kinds(self) -> frozenset[DataKind]:
        return frozenset(m.kind for m in self.methods)

    @property
    def by_kind(self) -> tuple[MethodStatus | None, ...]:
        """One entry per ``DataKind`` in order, None where nothing is registered."""
        return tuple(self.status(kind) for kind in DataKind)


def build_registration_summary(
    user: User,
    *,
    state: RegistrationState | None,
    confirmed_apps: int,
    answers: int,
    answers_required: int,
) -> RegistrationSummary:
    methods = [
        MethodStatus(kind, bool(state and getattr(state, f"{field}_proven_at")))
        for kind, field in _CONTACT
        if getattr(user, field)
    ]
    if not user.auth_email and user.reset_email:  # a guest's own primary address (§11)
        methods.insert(0, MethodStatus(DataKind.EMAIL, proven=False))
    if confirmed_apps:
        methods.append(MethodStatus(DataKind.AUTHENTICATOR_APP, proven=True))
    # The same threshold the eligibility facts use (policy.reset_selectors).
    if answers and answers >= answers_required:
        methods.append(MethodStatus(DataKind.SECURITY_QUESTIONS, proven=True))
    return RegistrationSummary(
        methods=tuple(methods),
        confirmed_apps=confirmed_apps,
        answers=answers,
        answers_required=answers_required,
        confirmed_at=state.confirmed_at if state else None,
    )


def get_registration_summary(user: User, policy: SsprPolicy) -> RegistrationSummary:
    """One person's registrations (the console's user page). Three queries."""
    return build_registration_summary(
        user,
        state=RegistrationState.objects.filter(user=user).first(),
        confirmed_apps=AuthenticatorApp.objects.filter(
            user=user, confirmed_at__isnull=False
        ).count(),
        answers=SecurityAnswer.objects.filter(user=user).count(),
        answers_required=policy.questions_to_register,
    )


def users_with_registration_counts(users: QuerySet[User]) -> QuerySet[User]:
    """``users`` with their registration state and counts, in one query for a report."""
    return users.select_related("registration_state").annotate(
        report_confirmed_apps=Count(
            "authenticator_apps",
            filter=Q(authenticator_apps__confirmed_at__isnull=False),
            distinct=True,
        ),
        report_answers=Count("security_answers", distinct=True),
    )


def summary_of_annotated(user: User, policy: SsprPolicy) -> RegistrationSummary:
    """The ``RegistrationSummary`` of a user loaded through ``users_with_registration_counts``."""
    try:
        state: RegistrationState | None = user.registration_state
    except RegistrationState.DoesNotExist:
        state = None
    return build_registration_summary(
        user,
        state=state,
        confirmed_apps=user.report_confirmed_apps,  # type: ignore[attr-defined]  # annotation
        answers=user.report_answers,  # type: ignore[attr-defined]  # annotation
        answers_required=policy.questions_to_register,
    )
