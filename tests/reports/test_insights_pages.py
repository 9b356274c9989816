"""The registration snapshot, the insights page with its CSV downloads, and the console home."""

import csv
import io

import pytest

from opensspr.audit.activities import Activity
from opensspr.audit.models import AuditEvent, Outcome
from opensspr.directory.models import SyncState
from opensspr.reports.models import DailyRegistration, ReportSettings
from opensspr.reports.rollup import rollup_recent, today
from opensspr.reports.snapshot import take_snapshot, take_snapshot_step
from opensspr.resets.models import RecoveryRequest, RecoveryState
from tests.conftest import DEFAULT_PASSWORD, open_reset_policy
from tests.reports.population import add_app
from tests.reports.usage_population import at, event, seed_usage

pytestmark = pytest.mark.django_db

INSIGHTS = "/console/reports/insights/"


@pytest.fixture
def population(user_factory, clock):
    """Five people, one method required: three capable, one never registered."""
    open_reset_policy(methods_required=1, allow_security_questions=False)
    user_factory("mail@contoso.example", auth_email="m@mail.example")
    add_app(user_factory("app@contoso.example", mobile_phone="+31 6 12345678"))
    user_factory("phone@contoso.example", office_phone="+31 20 5550102")
    user_factory("nothing@contoso.example")
    return user_factory("admin@contoso.example", roles=("global_admin",))


def _signed_in(client, user):
    response = client.post("/signin", {"user_id": user.user_id, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return client


def test_the_snapshot_counts_each_figure(population):
    row = take_snapshot(today())
    assert (row.users, row.enabled, row.capable, row.registered) == (5, 5, 3, 3)
    assert (row.never_registered, row.email, row.mobile_phone) == (2, 1, 1)
    assert (row.office_phone, row.authenticator_app, row.security_questions) == (1, 1, 0)


def test_the_worker_takes_the_snapshot_a_chunk_at_a_time(population):
    steps = 0
    while not take_snapshot_step(today(), step=2):
        steps += 1
    assert steps == 3  # 2 + 2 + 1 people, then the row is written
    assert DailyRegistration.objects.get(day=today()).capable == 3
    assert take_snapshot_step(today(), step=2)  # taken: nothing more to do today


def test_the_count_follows_registrations_a_few_minutes_later(population, user_factory, clock):
    take_snapshot(today())
    user_factory("late@contoso.example", auth_email="late@mail.example")
    clock.advance(minutes=4)
    assert take_snapshot_step(today())  # counted 4 minutes ago: not yet
    assert DailyRegistration.objects.get(day=today()).capable == 3
    clock.advance(minutes=1)
    while not take_snapshot_step(today()):
        pass
    row = DailyRegistration.objects.get(day=today())
    assert (row.users, row.capable, row.taken_at) == (6, 4, clock.now)


def test_the_insights_page_shows_the_figures(client, population, user_factory):
    seed_usage(user_factory(), user_factory())
    rollup_recent()
    take_snapshot(today())
    response = _signed_in(client, population).get(INSIGHTS + "?days=7")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="figure-resets">4<' in page
    assert 'id="figure-median">90 seconds<' in page
    assert 'id="figure-capable">3<' in page
    # per day, methods, registered per method, registration over time; wide and narrow each
    assert page.count('<svg class="chart') == 8
    assert "<title" in page and "<desc" in page


def test_every_table_downloads_as_formula_safe_csv(client, population, user_factory, clock):
    user = user_factory()
    event(
        at(10, day=23), Activity.RESET_FAILED, "f", user, outcome=Outcome.FAILURE, reason="=cmd|x"
    )
    clock.set(at(11, day=23))
    rollup_recent()
    _signed_in(client, population)
    response = client.get(INSIGHTS + "?days=7&export=failures")
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [
        ["kind", "activity", "reason", "count"],
        ["reset", "reset.failed", "'=cmd|x", "1"],
    ]
    for table in ("daily", "methods", "registration"):
        assert client.get(f"{INSIGHTS}?export={table}").status_code == 200


def test_the_cost_of_a_ticket_is_edited_and_audited(client, population):
    ReportSettings.objects.get_or_create(pk=1)
    _signed_in(client, population)
    # The side bar's link opens the one row's page, not a list of one.
    page = client.get("/console/reports/reportsettings/")
    assert page.status_code == 302 and page["Location"].endswith("/reportsettings/1/change/")
    response = client.post(page["Location"], {"cost_per_ticket": "40.00", "currency": "USD"})
    assert response.status_code == 302
    assert ReportSettings.objects.get(pk=1).cost_per_ticket == 40
    assert AuditEvent.objects.filter(activity=Activity.CONSOLE_OBJECT_CHANGED).exists()


def test_a_member_without_a_role_cannot_open_insights(client, population, user_factory):
    _signed_in(client, user_factory())
    assert client.get(INSIGHTS).status_code == 302


def test_the_home_shows_the_glance_and_what_needs_action(client, population, user_factory, clock):
    take_snapshot(today())
    bob = user_factory()
    event(at(8, day=23), Activity.RESET_BLOCKED, "b", bob, outcome=Outcome.FAILURE, reason="verify")
    SyncState.objects.create(pk=1, last_result="failed: unreachable")
    clock.set(at(9, day=23))
    rollup_recent()
    page = _signed_in(client, population).get("/console/").content.decode()
    assert 'id="glance-share">60%' in page  # 3 of 5
    assert 'id="glance-blocked">1<' in page
    assert "1 person was blocked from self-service reset in the last 24 hours." in page
    assert "The last directory sync failed" in page


def test_the_home_says_when_people_wait_for_the_helpdesk_to_get_back_in(
    client, population, user_factory, clock
):
    """A recovery request ("I have none of these") is on the home, linked to its queue;
    one of an ID nobody holds is not, nor one the helpdesk has taken."""
    open_reset_policy(methods_required=1)
    take_snapshot(today())
    asked = {"created_at": clock.now, "correlation_id": "c"}
    RecoveryRequest.objects.create(reference="R-WAIT01", user=user_factory(), **asked)
    RecoveryRequest.objects.create(reference="R-NOBODY", user=None, **asked)
    taken = RecoveryRequest.objects.create(reference="R-TAKEN1", user=user_factory(), **asked)
    taken.state = RecoveryState.IN_PROGRESS
    taken.save()
    page = _signed_in(client, population).get("/console/").content.decode()
    assert "1 person who lost every way to verify is waiting for the helpdesk." in page
    assert 'href="/console/resets/recoveryrequest/"' in page
    assert 'id="nothing-to-do"' not in page


def test_a_quiet_home_says_nothing_needs_action(client, population):
    open_reset_policy(methods_required=1)
    take_snapshot(today())
    page = _signed_in(client, population).get("/console/").content.decode()
    assert 'id="nothing-to-do"' in page
