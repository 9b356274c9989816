"""Bulk eligibility: the same decisions as one person at a time, in a fixed number of queries."""

import itertools
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opensspr.accounts.models import User
from opensspr.accounts.services import create_group
from opensspr.directory.base import Health, HealthState
from opensspr.policy.bulk_eligibility import iter_eligibility, list_eligibility
from opensspr.policy.eligibility import Reason, Writeback
from opensspr.policy.models import SsprPolicy
from opensspr.policy.reset_selectors import eligibility_for
from opensspr.reports.impact import get_policy_impact
from opensspr.reports.status import decide_statuses
from tests.conftest import open_reset_policy
from tests.reports.population import add_app, answer

pytestmark = pytest.mark.django_db

MOBILE = "+31 6 12345678"
OFFICE = "+31 20 1234567"
SYNCED = {"source": "synced", "on_premises_dn": "uid=x,dc=contoso"}


@pytest.fixture
def groups(meta):
    """Pilot holds Sales, which holds EMEA; Other stands apart."""
    pilot, sales, emea = (create_group(name=n, meta=meta) for n in ("Pilot", "Sales", "EMEA"))
    create_group(name="Other", meta=meta)
    pilot.member_groups.add(sales)
    sales.member_groups.add(emea)
    return {"pilot": pilot, "sales": sales, "emea": emea}


def _people(make, tag=""):
    """One of each kind of person the decision tells apart."""
    mail = iter(f"{tag}{n}@mail.example" for n in itertools.count())
    people = [
        make(roles=("helpdesk_admin",), auth_email=next(mail), mobile_phone=MOBILE),
        make(roles=("global_admin",), auth_email=next(mail), groups=("Pilot",)),
        make(roles=("user_admin",), auth_email=next(mail), groups=("EMEA",)),
        make(auth_email=next(mail), groups=("EMEA",)),
        make(auth_email=next(mail), mobile_phone=MOBILE, groups=("Pilot",)),
        make(auth_email=next(mail), groups=("Other",)),
        make(auth_email=next(mail), groups=("Sales", "Other")),
        make(mobile_phone=MOBILE, groups=("Sales",)),
        make(office_phone=OFFICE),
        make(auth_email=next(mail), mobile_phone=MOBILE, **SYNCED),
        make(auth_email=next(mail), user_type="guest", guest_kind="personal_account"),
        make(auth_email=next(mail), user_type="guest", guest_kind="b2b_partner"),
        make(auth_email=next(mail), mobile_phone=MOBILE, account_enabled=False),
        make(auth_email=next(mail), mobile_phone=MOBILE, sspr_licensed=False),
        make(),
    ]
    with_app = make(auth_email=next(mail), groups=("EMEA",))
    add_app(with_app)
    unconfirmed = make(auth_email=next(mail))
    add_app(unconfirmed, confirmed=False)
    app_only = make(**SYNCED)
    add_app(app_only)
    admin_with_questions = make(roles=("password_admin",), auth_email=next(mail))
    answer(admin_with_questions, 5)
    for count in (2, 3, 5):
        answered = make(auth_email=next(mail), groups=("Sales",))
        answer(answered, count)
    few_alone = make()
    answer(few_alone, 5)
    return [*people, with_app, unconfirmed, app_only, admin_with_questions, answered, few_alone]


@pytest.fixture
def crowd(groups, user_factory):
    open_reset_policy()
    return _people(lambda **f: user_factory(password=None, **f))


def _policies(groups):
    """Unsaved policies, as the impact preview builds them: each changes something that counts."""
    base = {
        "pk": 1,
        "scope": "all",
        "methods_required": 1,
        "allow_office_voice": True,
        "allow_security_questions": True,
        "questions_to_register": 3,
        "questions_to_reset": 3,
        "admins_may_reset": True,
    }
    variants = [
        {},
        {"scope": "selected", "group": groups["pilot"], "methods_required": 2},
        {"scope": "selected", "group": groups["sales"], "allow_email": False},
        {"scope": "selected", "group": groups["emea"], "questions_to_register": 5},
        {"scope": "none"},
        {"methods_required": 2, "writeback_enabled": True, "admins_may_reset": False},
        {"allow_security_questions": False, "allow_app_code": False, "writeback_enabled": True},
    ]
    return [SsprPolicy(**(base | v)) for v in variants]


def _one_at_a_time(policy):
    """The reset portal's path: a fresh user object (no cached roles) per person."""
    return {pk: eligibility_for(User.objects.get(pk=pk), policy) for pk in _pks()}


def _pks():
    return list(User.objects.values_list("pk", flat=True))


def test_bulk_decisions_equal_one_at_a_time_under_every_policy(crowd, groups):
    reasons = set()
    for policy in _policies(groups):
        bulk = list_eligibility(User.objects.all(), policy)
        assert bulk == _one_at_a_time(policy)
        reasons |= {d.reason for d in bulk.values()}
    # The population really is varied: every way to fail shows up somewhere.
    assert reasons >= {
        None,
        Reason.ADMIN_SSPR_DISABLED,
        Reason.ORG_DISABLED,
        Reason.NOT_IN_GROUP,
        Reason.NOT_LICENSED,
        Reason.ACCOUNT_DISABLED,
        Reason.PERSONAL_ACCOUNT,
        Reason.NOT_ENOUGH_METHODS,
        Reason.ADMIN_TWO_GATE,
        Reason.WRITEBACK_OFF,
        Reason.WRITEBACK_UNREACHABLE,
    }


def test_several_policies_and_small_chunks_give_the_same_decisions(crowd, groups):
    policies = _policies(groups)
    users = User.objects.order_by("user_id_key")
    got = list(iter_eligibility(users, policies, chunk_size=4))
    assert [u.pk for u, _ in got] == [u.pk for u in users]
    for index, policy in enumerate(policies):
        assert {u.pk: d[index] for u, d in got} == _one_at_a_time(policy)


def test_roles_already_read_on_a_user_are_used_as_the_single_path_does(crowd, groups):
    policy = _policies(groups)[0]
    users = list(User.objects.all())
    for user in users:
        user._roles_cache = set()  # read before a role was granted
    assert list_eligibility(users, policy) == {u.pk: eligibility_for(u, policy) for u in users}


@dataclass
class _Directory:
    """A healthy on-premises directory that counts how often it is asked."""

    checks: int = 0

    def check_health(self):
        self.checks += 1
        return Health(HealthState.HEALTHY, "ok")


def test_the_directory_is_asked_once_per_call_not_once_per_person(crowd, groups, monkeypatch):
    directory = _Directory()
    monkeypatch.setattr("opensspr.policy.reset_selectors.connector_for", lambda user: directory)
    policy = _policies(groups)[5]  # writeback on
    single = _one_at_a_time(policy)
    synced = sum(1 for u in User.objects.all() if u.source == "synced")
    assert directory.checks == synced >= 2
    directory.checks = 0
    assert list_eligibility(User.objects.all(), policy) == single
    assert directory.checks == 1
    directory.checks = 0
    given = list_eligibility(User.objects.all(), policy, writeback=Writeback.UNREACHABLE)
    assert directory.checks == 0
    assert {d.reason for d in given.values()} >= {Reason.WRITEBACK_UNREACHABLE}


def _queries(action):
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured)


def test_queries_dont_grow_with_the_number_of_people(crowd, groups, user_factory):
    policies = _policies(groups)
    current, candidate = policies[0], policies[1]

    def read_all():
        list_eligibility(User.objects.all(), candidate)
        get_policy_impact(current=current, candidate=candidate)
        decide_statuses(list(User.objects.values_list("pk", flat=True)), candidate)

    before = _queries(read_all)
    for tag in ("b", "c", "d"):
        _people(lambda **f: user_factory(password=None, **f), tag)
    assert User.objects.count() >= 4 * len(crowd)
    assert _queries(read_all) == before


def test_one_read_costs_a_handful_of_queries(crowd, groups, django_assert_max_num_queries):
    policy = _policies(groups)[1]  # a selected group: the nested-group read included
    with django_assert_max_num_queries(6):
        list_eligibility(User.objects.all(), policy)


def test_the_report_and_the_preview_never_ask_the_directory(crowd, groups, monkeypatch):
    """Capability ignores a momentary outage, so asking would only cost a round trip."""
    directory = _Directory()
    monkeypatch.setattr("opensspr.policy.reset_selectors.connector_for", lambda user: directory)
    policies = _policies(groups)
    get_policy_impact(current=policies[5], candidate=policies[6])
    decide_statuses(list(User.objects.values_list("pk", flat=True)), policies[5])
    assert directory.checks == 0
