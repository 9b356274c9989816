"""Idle throttle rows are forgotten; anything that still counts is kept, even mid-take."""

import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import connection, transaction

from opensspr.throttles import housekeeping, rules, service, uses
from opensspr.throttles.database import _locked_rows
from opensspr.throttles.models import Subject
from opensspr.throttles.rules import Scope
from tests.concurrency import needs_concurrent_writers
from tests.throttles.stored import add_use, count_uses

pytestmark = pytest.mark.django_db


def _subject(key: str, **fields: object) -> Subject:
    return Subject.objects.create(scope=Scope.SSPR, key=key, **fields)


def test_rows_that_hold_nothing_go_and_rows_that_count_stay(clock):
    now = clock.now
    idle = _subject("idle")
    lifted = _subject("lifted", blocked_until=now - timedelta(seconds=1), blocked_by="x")
    counted = _subject("counted")
    add_use(counted, rules.SSPR_EMAIL.name, now - timedelta(hours=23))
    old = _subject("old")  # its newest use is older than any window: nothing counts
    add_use(old, rules.SSPR_EMAIL.name, now - uses.LONGEST_WINDOW)
    blocked = _subject("blocked", blocked_until=now + timedelta(hours=1), blocked_by="x")
    lockout = {"scope": Scope.SIGNIN_LOCKOUT, "last_use_at": now - timedelta(hours=1)}
    backing_off = Subject.objects.create(key="backing-off", level=2, **lockout)  # longer next
    remembering = Subject.objects.create(key="remembering", recent=["a-digest"], **lockout)
    # A fixed block that ended: its level changes no later block's length.
    was_blocked = _subject("was-blocked", level=1, blocked_until=now - timedelta(seconds=1))
    assert housekeeping.purge_idle(now) == 4
    left = set(Subject.objects.values_list("pk", flat=True))
    assert left == {counted.pk, blocked.pk, backing_off.pk, remembering.pk}
    assert idle.pk not in left and lifted.pk not in left and old.pk not in left
    assert was_blocked.pk not in left
    assert count_uses(key="counted") == 1


def test_a_lockout_row_quiet_for_a_day_goes_with_its_back_off_and_remembered_passwords(clock):
    """Its next take would start afresh (smart lockout's quiet day): a spray of made-up user
    IDs with wrong passwords used to leave such a row for every one of them, for good."""
    now, day = clock.now, uses.LONGEST_WINDOW
    fields = {"scope": Scope.SIGNIN_LOCKOUT, "level": 2, "recent": ["digest-1", "digest-2"]}
    quiet = Subject.objects.create(
        key="quiet", last_use_at=now - day - timedelta(seconds=1), **fields
    )
    lately = Subject.objects.create(
        key="lately", last_use_at=now - day + timedelta(hours=1), **fields
    )
    still_blocked = Subject.objects.create(
        key="blocked",
        last_use_at=now - day - timedelta(seconds=1),
        blocked_until=now + timedelta(minutes=5),
        blocked_by=rules.SIGNIN_LOCKOUT.name,
        **fields,
    )
    assert housekeeping.purge_idle(now) == 1
    left = set(Subject.objects.values_list("pk", flat=True))
    assert left == {lately.pk, still_blocked.pk} and quiet.pk not in left


def test_a_scope_is_quiet_only_when_each_of_its_rules_starts_afresh_after_a_quiet_window(
    monkeypatch,
):
    """A rule without a quiet reset in the lockout's scope would keep its back-off level:
    the scope's rows would then not be purged for quiet alone."""
    assert [Scope.SIGNIN_LOCKOUT.value] == housekeeping._QUIET
    growing = replace(rules.SIGNIN_LOCKOUT, name="signin.growing", quiet_reset=False)
    monkeypatch.setattr(rules, "RULES", (*rules.RULES, growing))
    assert housekeeping._scopes(lambda rule: rule.quiet_reset, every=True) == []
    assert Scope.SIGNIN_LOCKOUT.value in housekeeping._scopes(lambda rule: rule.distinct > 0)


def test_a_turn_purges_on_while_batches_come_back_full(monkeypatch):
    monkeypatch.setattr(housekeeping, "_turn", housekeeping._Every(600))
    monkeypatch.setattr(housekeeping, "BATCH", 2)
    monkeypatch.setattr(housekeeping, "BATCHES", 2)
    for n in range(5):
        _subject(f"idle-{n}")
    assert housekeeping.purge_idle_due() == 4  # two full batches, then the turn ends
    assert Subject.objects.count() == 1


def test_a_looked_at_pause_leaves_a_row_the_purge_takes_and_counting_goes_on(clock):
    service.reserve_many_peeking([], [(rules.SSPR_VERIFY_FAILURE, "jan@contoso.example")])
    assert Subject.objects.filter(scope=Scope.SSPR).count() == 1
    assert housekeeping.purge_idle() == 1
    assert not Subject.objects.exists()
    assert service.reserve(rules.SSPR_VERIFY_FAILURE, "jan@contoso.example").allowed


def test_the_periodic_call_purges_once_per_interval(monkeypatch):
    turn = housekeeping._Every(600)
    monkeypatch.setattr(housekeeping, "_turn", turn)
    _subject("first")
    assert housekeeping.purge_idle_due() == 1
    _subject("second")
    assert housekeeping.purge_idle_due() == 0  # within the interval
    turn.last = (turn.last or 0) - 601
    assert housekeeping.purge_idle_due() == 1


@pytest.mark.django_db(transaction=True)
def test_a_row_locked_by_a_take_is_skipped_and_its_use_survives(clock):
    """A take holds its subject's row from the upsert to the commit of its use (A2)."""
    needs_concurrent_writers()
    locked, release = threading.Event(), threading.Event()

    def take() -> None:
        try:
            with transaction.atomic():
                use = {uses.new_token(): ["sspr.email", uses.stamp(clock.now)]}
                _locked_rows({(Scope.SSPR, "racing"): use})
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    Subject.objects.create(scope=Scope.SSPR, key="racing")
    thread = threading.Thread(target=take)
    thread.start()
    try:
        assert locked.wait(10)
        assert housekeeping.purge_idle() == 0  # skipped, not waited for
    finally:
        release.set()
        thread.join(10)
    assert count_uses(key="racing") == 1
