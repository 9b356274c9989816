"""Who a policy change would strand, before it is saved (reference §2.4).

Changing the number of methods required, which methods are allowed, the number
of questions, the scope or the group can leave people who reset today unable to
(one method registered, two now required). The console shows the change's
impact and saves only once the administrator confirms.

Both sides come from the same eligibility decision the reset portal uses
(``capability``): the candidate policy is an unsaved ``SsprPolicy`` built from
the form, so nothing is written to find out. People are read in bulk, once for
both policies, so a preview costs a fixed number of queries per 2,000 people.
"""

from dataclasses import dataclass

from django.db import transaction

from opensspr.accounts.models import User
from opensspr.methods.models import SecurityAnswer
from opensspr.methods.questions import CUSTOM_PREFIX
from opensspr.policy.eligibility import Reason
from opensspr.policy.models import CustomQuestion, SsprPolicy
from opensspr.policy.reset_selectors import get_sspr_policy
from opensspr.reports.capability import REASON_LABELS, iter_capabilities

#: Policy fields that can change who may reset; others (notifications, helpdesk) can't.
IMPACT_FIELDS = frozenset(
    {
        "scope",
        "group",
        "methods_required",
        "allow_email",
        "allow_mobile_sms",
        "allow_mobile_voice",
        "allow_office_voice",
        "allow_app_code",
        "allow_app_notification",
        "allow_security_questions",
        "questions_to_register",
        "admins_may_reset",
        "writeback_enabled",
    }
)


@dataclass(frozen=True)
class Stranded:
    user: User
    reason: Reason | None  # why they couldn't reset afterwards

    @property
    def reason_label(self) -> str:
        return str(REASON_LABELS.get(self.reason, self.reason)) if self.reason else ""


@dataclass(frozen=True)
class PolicyImpact:
    losing: tuple[Stranded, ...]  # capable now, not afterwards
    gaining: tuple[User, ...]  # not capable now, capable afterwards
    evaluated: int  # people looked at

    @property
    def strands_anyone(self) -> bool:
        return bool(self.losing)


def get_policy_impact(*, current: SsprPolicy, candidate: SsprPolicy) -> PolicyImpact:
    """Everyone whose capability differs between ``current`` and an unsaved ``candidate``.

    Evaluates every user under both policies through the eligibility engine: time
    linear in the size of the directory, the price of an exact answer, but a
    fixed number of queries per chunk of people (docs/operators/reports.md).
    """
    losing: list[Stranded] = []
    gaining: list[User] = []
    evaluated = 0
    users = User.objects.order_by("user_id_key")
    for user, (before, after) in iter_capabilities(users, (current, candidate)):
        evaluated += 1
        if before.capable and not after.capable:
            losing.append(Stranded(user, after.reason))
        elif after.capable and not before.capable:
            gaining.append(user)
    return PolicyImpact(tuple(losing), tuple(gaining), evaluated)


def get_question_removal_impact(question: CustomQuestion) -> PolicyImpact:
    """Who would stop being capable if ``question`` and its answers were deleted.

    Only people who answered it can be affected. Their "after" is measured by
    deleting their answers to it inside a savepoint that is always rolled back:
    the eligibility code counts answers itself, and this way it stays the only
    place that does.
    """
    policy = get_sspr_policy()
    key = f"{CUSTOM_PREFIX}{question.pk}"
    affected = list(User.objects.filter(security_answers__question_key=key).order_by("user_id_key"))
    before = {user.pk: now.capable for user, (now,) in iter_capabilities(affected, (policy,))}
    losing: list[Stranded] = []
    with transaction.atomic():
        SecurityAnswer.objects.filter(question_key=key).delete()
        for user, (after,) in iter_capabilities(affected, (policy,)):
            if before[user.pk] and not after.capable:
                losing.append(Stranded(user, after.reason))
        transaction.set_rollback(True)
    return PolicyImpact(tuple(losing), (), len(affected))
