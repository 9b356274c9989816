"""The usage figures: a known week of audit events in, known figures out (reports.insights)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from opensspr.audit.activities import Activity
from opensspr.audit.models import AuditEvent, Outcome
from opensspr.core import clock
from opensspr.reports.insights import (
    count_blocked_now,
    get_usage_summary,
    list_daily_usage,
    list_failures,
    list_method_usage,
    median_seconds,
    period_ending,
)
from opensspr.reports.models import DailyDuration, DailyUsage, ReportSettings, RollupState
from opensspr.reports.rollup import (
    USAGE_EVERY,
    method_key,
    rollup_day,
    rollup_recent,
    run_due_rollup,
)
from tests.conftest import DEFAULT_PASSWORD
from tests.reports.usage_population import DAY1, DAY2, at, event, flow, seed_usage

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(user_factory, clock):
    alice, bob = user_factory("alice@contoso.example"), user_factory("bob@contoso.example")
    AuditEvent.objects.all().delete()  # the users' creation events aren't usage
    seed_usage(alice, bob)
    rollup_recent()
    return alice, bob


def _two_days():
    return period_ending(DAY2, 2)


def test_each_day_counts_what_finished_on_it(seeded):
    day1, day2 = list_daily_usage(_two_days())
    assert (day1.day, day1.resets, day1.unlocks, day1.changes) == (DAY1, 2, 1, 1)
    assert (day1.failures, day1.blocked) == (4, 1)
    # Flow M started on the 22nd and finished after midnight: it counts on the 23rd.
    assert (day2.day, day2.resets, day2.unlocks, day2.changes, day2.failures) == (DAY2, 2, 0, 0, 0)


def test_the_summary_of_the_period(seeded):
    summary = get_usage_summary(_two_days())
    assert (summary.resets, summary.unlocks, summary.changes) == (4, 1, 1)
    assert (summary.started, summary.finished_share) == (5, 100)
    assert (summary.failures, summary.blocked) == (4, 1)
    assert summary.median_seconds == 90  # 60, 60, 120, 180
    assert summary.calls_avoided == 5
    assert summary.saved == Decimal("125.00")  # the default cost of a ticket, 25.00


def test_calls_avoided_use_the_configured_cost(seeded):
    ReportSettings.objects.update_or_create(pk=1, defaults={"cost_per_ticket": Decimal("12.50")})
    assert get_usage_summary(_two_days()).saved == Decimal("62.50")


def test_a_reset_counts_once_under_the_methods_it_passed(seeded):
    methods = {(m.method, m.resets, m.unlocks) for m in list_method_usage(_two_days())}
    assert methods == {("email", 3, 0), ("email+mobile_sms", 1, 0), ("app_code", 0, 1)}
    assert method_key(["security_questions", "email", "email"]) == "email+security_questions"


def test_failures_by_kind_step_and_reason(seeded):
    failures = [(f.kind, f.activity, f.reason, f.count) for f in list_failures(_two_days())]
    assert failures == [
        ("reset", Activity.RESET_GATE_FAILED, "wrong_answer", 2),
        ("change", Activity.PASSWORD_CHANGE_FAILED, "too_short", 1),
        ("reset", Activity.RESET_BLOCKED, "verify", 1),
    ]
    failed_gate = DailyUsage.objects.get(activity=Activity.RESET_GATE_FAILED)
    assert (failed_gate.method, failed_gate.people) == ("email", 1)


def test_a_long_median_reads_in_minutes(client, user_factory, clock):
    """Past two minutes the page says "4 min 5 s", not "245 seconds"."""
    alice = user_factory()
    flow("slow", at(10), 245, ("email",), alice)
    rollup_day(DAY1)
    admin = user_factory("boss@contoso.example", roles=("global_admin",))
    client.post("/signin", {"user_id": admin.user_id, "password": DEFAULT_PASSWORD})
    page = client.get("/console/reports/insights/?days=7").content.decode()
    assert 'id="figure-median">4 min 5 s<' in page


def test_median_of_one_day_and_of_none():
    assert median_seconds(period_ending(DAY1, 1)) is None


def test_median_per_day(seeded):
    assert median_seconds(period_ending(DAY1, 1)) == 90  # 60 and 120
    assert median_seconds(period_ending(DAY2, 1)) == 120  # 60 and 180
    assert median_seconds(period_ending(DAY1, 1), Activity.UNLOCK_COMPLETED) == 40


def test_blocked_now_counts_people_of_the_last_24_hours(seeded):
    assert count_blocked_now() == 1  # bob, at 13:01 yesterday
    clock.freeze(at(13, 2, day=23))
    assert count_blocked_now() == 0


def test_rollup_is_idempotent(seeded):
    before = sorted(DailyUsage.objects.values_list("day", "activity", "reason", "method", "count"))
    durations = sorted(DailyDuration.objects.values_list("day", "activity", "seconds", "count"))
    rollup_recent()
    rollup_recent()
    after = sorted(DailyUsage.objects.values_list("day", "activity", "reason", "method", "count"))
    assert after == before
    assert (
        sorted(DailyDuration.objects.values_list("day", "activity", "seconds", "count"))
        == durations
    )


def test_older_days_survive_the_audit_logs_pruning(seeded):
    """Only today and yesterday are re-computed: rolled-up days outlive their events."""
    clock.freeze(at(9, day=25))
    AuditEvent.objects.filter(occurred_at__lt=at(0, day=24)).delete()
    rollup_recent()
    summary = get_usage_summary(period_ending(DAY2 + timedelta(days=2), 4))
    assert (summary.resets, summary.unlocks) == (4, 1)


def test_a_late_event_is_counted_on_the_next_run(seeded):
    event(at(9, 30, day=23), Activity.PASSWORD_CHANGED, "change-3", None)
    assert list_daily_usage(period_ending(DAY2, 1))[0].changes == 0
    rollup_recent()
    assert list_daily_usage(period_ending(DAY2, 1))[0].changes == 1


def test_the_worker_rolls_up_every_minute(seeded):
    event(at(9, 0, 30, day=23), Activity.PASSWORD_CHANGED, "change-4", None)
    run_due_rollup()  # the fixture's rollup ran half a minute ago: not due yet
    assert list_daily_usage(period_ending(DAY2, 1))[0].changes == 0
    clock.advance(USAGE_EVERY)
    run_due_rollup()
    assert list_daily_usage(period_ending(DAY2, 1))[0].changes == 1
    assert RollupState.objects.get(pk=1).usage_at == clock.now()


def test_yesterday_is_re_computed_hourly_and_after_midnight(seeded):
    """Each minute only today; a late event of yesterday waits for the hourly run."""
    event(at(23, 0, day=22), Activity.PASSWORD_CHANGED, "late-1", None)
    clock.freeze(at(9, 2, day=23))
    run_due_rollup()
    assert list_daily_usage(period_ending(DAY1, 1))[0].changes == 1  # not yet
    clock.freeze(at(10, 0, day=23))
    run_due_rollup()
    assert list_daily_usage(period_ending(DAY1, 1))[0].changes == 2
    event(at(23, 59, 50, day=23), Activity.PASSWORD_CHANGED, "late-2", None)
    clock.freeze(at(0, 0, 30, day=24))
    run_due_rollup()  # a new day: the 23rd is finished off
    assert list_daily_usage(period_ending(DAY2, 1))[0].changes == 1


def test_days_follow_the_configured_time_zone(settings, user_factory, clock):
    """At 23:30 UTC it is already the next day in Amsterdam."""
    settings.TIME_ZONE = "Europe/Amsterdam"
    user = user_factory()
    event(at(23, 30), Activity.PASSWORD_CHANGED, "tz-1", user)
    rollup_day(DAY1)
    rollup_day(DAY2)
    assert not DailyUsage.objects.filter(day=DAY1, activity=Activity.PASSWORD_CHANGED).exists()
    assert DailyUsage.objects.get(day=DAY2, activity=Activity.PASSWORD_CHANGED).count == 1


def test_success_events_of_failure_kinds_are_not_failures(user_factory, clock):
    user = user_factory()
    event(
        at(10),
        Activity.RESET_FAILED,
        "x",
        user,
        outcome=Outcome.FAILURE,
        reason="directory_unavailable",
    )
    rollup_day(DAY1)
    (failure,) = list_failures(period_ending(DAY1, 1))
    assert (failure.activity, failure.reason, failure.count) == (
        Activity.RESET_FAILED,
        "directory_unavailable",
        1,
    )


def test_the_command_rolls_up_and_counts(user_factory, clock, capsys):
    alice, bob = user_factory("alice@contoso.example"), user_factory("bob@contoso.example")
    seed_usage(alice, bob)
    call_command("reports", "rollup", "--days", "3")
    out = capsys.readouterr().out
    assert "Rolled up usage from 2026-11-21 to 2026-11-23." in out
    assert "Registration on 2026-11-23: 0 of 2 people capable." in out
    assert get_usage_summary(_two_days()).resets == 4
    with pytest.raises(CommandError):
        call_command("reports", "rollup", "--days", "0")
