"""Whether a person is enabled for, registered for and capable of self-service reset.

The three words of the reference's registration details (§10.4): *enabled* (the
policy lets them reset at all), *registered* (they have enough of the methods the
policy allows) and *capable* (both). All three are read from the eligibility
engine's decision, never worked out again here, so the report, the impact
preview and the reset portal can't disagree.

One check is left out on purpose: whether the on-premises directory answers
*right now*. A capable person stays capable during a writeback outage; an outage
is an operations alarm, not a registration problem, and would otherwise make the
impact preview blind to the synced users it is meant to protect. Since it is
left out, the directory isn't even asked: a health check per synced person
would cost a network round trip each and change nothing here.

``iter_capabilities`` is the bulk form for the report and the impact preview:
a fixed number of queries per chunk of people (``policy.bulk_eligibility``).
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from opensspr.accounts.models import User
from opensspr.policy.bulk_eligibility import iter_eligibility
from opensspr.policy.eligibility import Decision, Reason, Writeback
from opensspr.policy.models import SsprPolicy
from opensspr.policy.reset_selectors import eligibility_for

_MOMENTARY = frozenset({"writeback_reachable"})
_REGISTRATION = "enough_methods"
# Stands in for the health check that ``capability_from`` ignores anyway.
_NOT_ASKED = Writeback.AVAILABLE

REASON_LABELS = {
    Reason.UNKNOWN_USER: _("unknown user"),
    Reason.ADMIN_SSPR_DISABLED: _("administrators may not use self-service reset"),
    Reason.ORG_DISABLED: _("self-service reset is switched off"),
    Reason.WRITEBACK_OFF: _("password on-premises and writeback is off"),
    Reason.NOT_LICENSED: _("no self-service reset licence"),
    Reason.NOT_IN_GROUP: _("not in the selected group"),
    Reason.NOT_ENOUGH_METHODS: _("not enough methods registered"),
    Reason.ADMIN_TWO_GATE: _("administrator without two methods"),
    Reason.ACCOUNT_DISABLED: _("account disabled"),
    Reason.PERSONAL_ACCOUNT: _("personal external account"),
    Reason.WRITEBACK_UNREACHABLE: _("on-premises directory unreachable"),
}


@dataclass(frozen=True)
class Capability:
    enabled: bool
    registered: bool
    capable: bool
    reason: Reason | None  # the first failed check, None when capable

    @property
    def reason_label(self) -> str:
        return str(REASON_LABELS.get(self.reason, self.reason)) if self.reason else ""


def capability_from(decision: Decision) -> Capability:
    failed = [c for c in decision.checks if not c.passed and c.name not in _MOMENTARY]
    return Capability(
        enabled=all(c.name == _REGISTRATION for c in failed),
        registered=all(c.name != _REGISTRATION for c in failed),
        capable=not failed,
        reason=failed[0].reason if failed else None,
    )


def get_capability(user: User, policy: SsprPolicy) -> Capability:
    """``user``'s capability under ``policy``, which may be an unsaved candidate."""
    return capability_from(eligibility_for(user, policy, writeback=_NOT_ASKED))


def iter_capabilities(
    users: Iterable[User], policies: Sequence[SsprPolicy]
) -> Iterator[tuple[User, tuple[Capability, ...]]]:
    """Each user with their capability under each of ``policies``, in the order given."""
    for user, decisions in iter_eligibility(users, policies, writeback=_NOT_ASKED):
        yield user, tuple(capability_from(d) for d in decisions)
