"""SSPR throttles on a controllable clock (reference §5.1)."""

from enum import StrEnum

import pytest

from opensspr.throttles.rules import SSPR_BY_ACTION
from tests.concurrency import needs_concurrent_writers, race
from tests.resets import throttling as throttles
from tests.resets.throttling import consume, record_failure

pytestmark = pytest.mark.django_db
ID = throttles.subject_key("jan@contoso.example")
Action = StrEnum("Action", {name.upper(): name for name in SSPR_BY_ACTION})


def test_too_many_security_question_attempts_block_for_a_day(clock):
    assert all(consume(ID, Action.QUESTIONS, clock.now).allowed for _ in range(5))
    verdict = consume(ID, Action.QUESTIONS, clock.now)
    assert not verdict.allowed and verdict.newly_blocked
    # Blocked for every action, for 24 hours.
    clock.advance(hours=23, minutes=59)
    assert not consume(ID, Action.EMAIL, clock.now).allowed
    clock.advance(minutes=2)
    assert consume(ID, Action.EMAIL, clock.now).allowed


@pytest.mark.parametrize(
    ("action", "limit", "window_minutes"),
    [
        (Action.SMS, 5, 60),
        (Action.CALL, 5, 60),
        (Action.EMAIL, 10, 10),
    ],
)
def test_a_spent_send_budget_says_not_now_and_blocks_nothing(clock, action, limit, window_minutes):
    """A21: sends reach only the person's own phone or inbox; over the budget nothing more
    is sent until the window frees, and nothing else of the person is blocked."""
    assert all(consume(ID, action, clock.now).allowed for _ in range(limit))
    verdict = consume(ID, action, clock.now)
    assert not verdict.allowed and not verdict.newly_blocked
    assert throttles.blocked_until(ID, clock.now) is None
    other = Action.QUESTIONS
    assert consume(ID, other, clock.now).allowed
    clock.advance(minutes=window_minutes + 1)
    assert consume(ID, action, clock.now).allowed


@pytest.mark.parametrize(
    ("action", "limit", "window_minutes"),
    [
        (Action.SMS, 5, 60),
        (Action.EMAIL, 10, 10),
    ],
)
def test_spread_out_use_is_never_blocked(clock, action, limit, window_minutes):
    for _ in range(limit * 3):
        assert consume(ID, action, clock.now).allowed
        clock.advance(minutes=window_minutes / limit + 0.1)


def test_the_fifth_failure_in_a_day_blocks(clock):
    for _ in range(4):
        assert record_failure(ID, clock.now).allowed
        clock.advance(hours=5)
    verdict = record_failure(ID, clock.now)
    assert not verdict.allowed and verdict.newly_blocked
    assert throttles.blocked_until(ID, clock.now) == verdict.blocked_until


def test_failures_older_than_a_day_do_not_count(clock):
    for _ in range(4):
        record_failure(ID, clock.now)
    clock.advance(hours=24, seconds=1)
    assert record_failure(ID, clock.now).allowed


def test_a_successful_reset_clears_the_counters(clock):
    for _ in range(4):
        record_failure(ID, clock.now)
    throttles.clear(ID)
    for _ in range(4):
        assert record_failure(ID, clock.now).allowed


def test_counters_are_per_user_id(clock):
    for _ in range(5):
        record_failure(ID, clock.now)
    assert consume(
        throttles.subject_key("someone.else@contoso.example"), Action.SMS, clock.now
    ).allowed


@pytest.mark.django_db(transaction=True)
def test_parallel_sends_never_exceed_the_limit(clock):
    needs_concurrent_writers()  # the PostgreSQL run proves the row lock
    results = race(*[lambda: consume(ID, Action.SMS, clock.now).allowed] * 12)
    assert results.count(True) == 5
