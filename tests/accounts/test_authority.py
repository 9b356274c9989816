"""The helpdesk rule, per pair of roles: a lower role never acts on a higher one."""

import pytest

from opensspr.accounts.authority import HelpdeskAction, may_act
from opensspr.accounts.roles import AdminRole

pytestmark = pytest.mark.django_db

G, PA, AU, U, H, P, S = (
    AdminRole.GLOBAL,
    AdminRole.PRIVILEGED_AUTHENTICATION,
    AdminRole.AUTHENTICATION,
    AdminRole.USER,
    AdminRole.HELPDESK,
    AdminRole.PASSWORD,
    AdminRole.SECURITY,
)
NONE = None  # a person without an administrator role

#: actor role -> the target roles it reaches; every pair not listed is refused.
EXPECTED = {
    G: {NONE, G, PA, AU, U, H, P, S},
    PA: {NONE, PA, AU, U, H, P, S},
    AU: {NONE, AU, H, P},
    U: {NONE, U, H, P},
    H: {NONE, H, P},
    P: {NONE, P},
    S: set(),
}
TARGETS = [NONE, G, PA, AU, U, H, P, S]


@pytest.mark.parametrize("actor_role", list(EXPECTED))
def test_each_role_reaches_exactly_its_table_row(user_factory, actor_role):
    actor = user_factory(roles=(actor_role.value,), password=None)
    for target_role in TARGETS:
        target = user_factory(roles=(target_role.value,) if target_role else (), password=None)
        for action in HelpdeskAction:
            allowed = may_act(actor, target, action)
            expected = target_role in EXPECTED[actor_role]
            assert allowed == expected, (actor_role, target_role, action)


def test_nobody_acts_on_themselves(user_factory):
    admin = user_factory(roles=("global_admin",))
    assert not any(may_act(admin, admin, action) for action in HelpdeskAction)


def test_a_member_without_a_role_acts_on_nobody(user_factory):
    assert not may_act(user_factory(), user_factory(), HelpdeskAction.UNLOCK)


def test_a_disabled_administrator_acts_on_nobody(user_factory):
    helpdesk = user_factory(roles=("helpdesk_admin",), account_enabled=False)
    assert not may_act(helpdesk, user_factory(), HelpdeskAction.ACCESS_PASS)


def test_a_target_with_two_roles_needs_both_reached(user_factory):
    helpdesk = user_factory(roles=("helpdesk_admin",))
    both = user_factory(roles=("password_admin", "user_admin"))
    assert not may_act(helpdesk, both, HelpdeskAction.TEMPORARY_PASSWORD)
    assert may_act(user_factory(roles=("user_admin",)), both, HelpdeskAction.TEMPORARY_PASSWORD)


def test_two_actor_roles_reach_the_union(user_factory):
    actor = user_factory(roles=("password_admin", "security_admin"))
    assert may_act(actor, user_factory(roles=("password_admin",)), HelpdeskAction.UNLOCK)
    assert not may_act(actor, user_factory(roles=("security_admin",)), HelpdeskAction.UNLOCK)
