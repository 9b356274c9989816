"""Stored registration decisions follow what decides them, and a report trusts only current ones.

Each test changes one thing that decides a person's capability (their data, a
method, a proof, a role, a group, the group tree, the policy) through the code
that really writes it, then asks the report's SQL filter: the answer must be
exact at once.
"""

from datetime import UTC, datetime, timedelta

import pytest

from opensspr.accounts.models import Group, RoleAssignment
from opensspr.methods.questions import replace_answers
from opensspr.policy.models import SsprPolicy
from opensspr.registration.admin_services import clear_security_info
from opensspr.reports import status
from opensspr.reports.models import DataState, RegistrationStatus
from opensspr.reports.rollup import run_due_rollup
from opensspr.reports.selectors import (
    ReportFilters,
    count_report,
    filter_users,
    iter_stored_rows,
    list_registration_rows,
)
from tests.conftest import open_reset_policy
from tests.reports.population import add_app

pytestmark = pytest.mark.django_db

REPORT = "/console/reports/registrations/"


def _capable() -> set[str]:
    status.bring_up_to_date()
    return {u.user_id.split("@")[0] for u in filter_users(ReportFilters(capable=True))}


@pytest.fixture
def policy(clock):
    open_reset_policy(methods_required=1, allow_security_questions=True, questions_to_register=3)


def test_a_new_person_is_decided_before_the_report_counts_them(policy, user_factory):
    user_factory("mail@contoso.example", auth_email="m@mail.example")
    user_factory("none@contoso.example")
    assert _capable() == {"mail"}
    row = RegistrationStatus.objects.get(user__user_id="mail@contoso.example")
    assert (row.capable, row.email, row.unproven) == (True, DataState.UNPROVEN, True)


def test_the_unfiltered_report_counts_a_person_whose_row_is_not_written_yet(
    policy, user_factory, client
):
    """A sync's new people have no row until its run ends: listed, so counted too."""
    user_factory("mail@contoso.example", auth_email="m@mail.example")
    user_factory("new@contoso.example")
    RegistrationStatus.objects.filter(user__user_id="new@contoso.example").delete()
    status.bring_up_to_date()  # decides the one with a row
    everyone = ReportFilters()
    assert count_report(everyone).users == filter_users(everyone).count() == 2
    assert count_report(ReportFilters(capable=True)).users == 1


def test_contact_data_an_app_and_answers_each_make_a_person_capable(policy, user_factory):
    phone = user_factory("phone@contoso.example")
    app = user_factory("app@contoso.example")
    answers = user_factory("answers@contoso.example")
    assert _capable() == set()
    phone.mobile_phone = "+31612345678"
    phone.save()
    add_app(app)
    replace_answers(answers, {f"predefined:{n}": f"answer {n} lantern" for n in (1, 2, 3)})
    assert _capable() == {"phone", "app"}  # answers alone are never enough (reference §2.3)
    stored = RegistrationStatus.objects.get(user=answers)
    assert (stored.security_questions, stored.answers) == (DataState.PROVEN, 3)


def test_a_saved_field_that_decides_nothing_leaves_the_row_current(policy, user_factory):
    person = user_factory(auth_email="m@mail.example")
    status.bring_up_to_date()
    person.display_name = "Someone Else"
    person.save(update_fields=["display_name"])
    assert status.stale_pks(10) == []
    person.account_enabled = False
    person.save(update_fields=["account_enabled"])
    assert status.stale_pks(10) == [person.pk]


def test_a_role_makes_an_administrator_need_two_methods(user_factory, clock):
    open_reset_policy(methods_required=1, admins_may_reset=True)
    person = user_factory("ada@contoso.example", auth_email="a@mail.example")
    assert _capable() == {"ada"}
    RoleAssignment.objects.create(user=person, role="helpdesk_admin")
    assert _capable() == set()  # administrators always need two gates (reference §3)


def test_group_membership_and_nesting_decide_a_selected_scope(user_factory, clock):
    inner = Group.objects.create(name="Inner")
    outer = Group.objects.create(name="Outer")
    open_reset_policy(methods_required=1, scope="selected", group=outer)
    person = user_factory("p@contoso.example", auth_email="p@mail.example")
    assert _capable() == set()
    inner.members.add(person)
    assert _capable() == set()  # Inner is not inside Outer yet
    outer.member_groups.add(inner)
    assert _capable() == {"p"}
    person.directory_groups.remove(inner)
    assert _capable() == set()


def test_a_policy_change_makes_every_row_out_of_date(policy, user_factory):
    user_factory("mail@contoso.example", auth_email="m@mail.example")
    assert _capable() == {"mail"}
    generation = status.current_generation()
    current = SsprPolicy.objects.get(pk=1)
    current.allow_email = False
    current.save()
    assert status.current_generation() == generation + 1
    assert _capable() == set()


def test_a_mark_during_a_decision_keeps_the_row_out_of_date(policy, user_factory, monkeypatch):
    """The race: a change lands after a decision began reading; the decision mustn't hide it."""
    person = user_factory(auth_email="m@mail.example")
    status.bring_up_to_date()
    started = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    monkeypatch.setattr(status, "_moment", lambda: started + timedelta(seconds=1))
    status.mark_stale([person.pk])  # during the decision below
    monkeypatch.setattr(status, "_moment", lambda: started)
    status.decide_statuses([person.pk])
    assert status.stale_pks(10) == [person.pk]
    monkeypatch.setattr(status, "_moment", lambda: started + timedelta(seconds=2))
    status.decide_statuses([person.pk])
    assert status.stale_pks(10) == []


def test_many_out_of_date_people_are_left_to_the_worker_and_the_page_says_so(
    policy, user_factory, client, monkeypatch
):
    monkeypatch.setattr(status, "REFRESH_LIMIT", 2)
    for n in range(4):
        user_factory(f"p{n}@contoso.example", auth_email=f"p{n}@mail.example")
    client.force_login(user_factory("viewer@contoso.example", roles=("global_admin",)))
    status.decide_statuses(list(RegistrationStatus.objects.values_list("user_id", flat=True)))
    open_reset_policy(methods_required=1, allow_email=False)  # everyone out of date at once
    page = client.get(REPORT, {"capable": "yes"}).content.decode()
    assert "5 people are still being checked again" in page
    assert "4 people shown" in page  # as before the change: email still counted
    assert page.count("<td>no</td>") >= 4  # but each row shown is decided now: not capable
    run_due_rollup()  # the worker's turn decides them
    page = client.get(REPORT, {"capable": "yes"}).content.decode()
    assert "still being checked" not in page
    assert "0 people shown" in page


def test_a_page_shows_current_rows_even_when_its_people_are_out_of_date(
    policy, user_factory, monkeypatch
):
    monkeypatch.setattr(status, "REFRESH_LIMIT", 0)
    person = user_factory("p@contoso.example")
    status.decide_statuses([person.pk])
    person.auth_email = "p@mail.example"
    person.save()  # marked, but the report won't decide anyone itself now
    [row] = list_registration_rows()
    assert row.capability.capable  # the row itself is decided again before it is shown


def test_the_report_csv_streams_every_row_across_chunks(policy, user_factory, client):
    for n in range(5):
        user_factory(f"p{n}@contoso.example", auth_email=f"p{n}@mail.example" if n % 2 else "")
    client.force_login(user_factory("viewer@contoso.example", roles=("global_admin",)))
    response = client.get(REPORT, {"export": "csv", "capable": "yes"})
    assert response.streaming
    lines = response.getvalue().decode().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == [
        "p1@contoso.example",
        "p3@contoso.example",
    ]
    every = [row.user.user_id for row in iter_stored_rows(ReportFilters(), chunk=2)]
    assert every == [*(f"p{n}@contoso.example" for n in range(5)), "viewer@contoso.example"]


def test_clearing_security_info_is_seen_at_once(policy, user_factory, meta):
    person = user_factory("p@contoso.example")
    add_app(person)
    assert _capable() == {"p"}
    admin = user_factory("admin@contoso.example", roles=("global_admin",))
    clear_security_info(actor=admin, user=person, meta=meta)
    assert _capable() == set()
