"""Windows, penalties, give-back and clear on a controllable clock, in both stores."""

from dataclasses import replace
from datetime import timedelta

import pytest

from opensspr.throttles import rules, service
from opensspr.throttles.base import ThrottleUnavailableError
from opensspr.throttles.database import DatabaseStore
from opensspr.throttles.models import Subject
from opensspr.throttles.redis_store import RedisStore
from opensspr.throttles.rules import Scope
from tests.throttles.stored import count_uses

pytestmark = pytest.mark.django_db
JAN = "jan@contoso.example"
#: A guess rule with a flat day-long block, as both stores keep it (the reset's own growing
#: pauses live in the database only: tests/throttles/test_pauses.py).
GUESSES = replace(rules.SSPR_VERIFY_FAILURE, penalty=rules.SSPR_BLOCK)


def test_over_the_limit_a_use_is_refused_and_the_scope_blocked_for_a_day(store, clock):
    assert all(service.hit(rules.SSPR_QUESTIONS, JAN).allowed for _ in range(5))
    verdict = service.hit(rules.SSPR_QUESTIONS, JAN)
    assert not verdict.allowed and verdict.newly_blocked
    assert verdict.blocked_until == clock.now + timedelta(hours=24)
    # Every rule of the scope is blocked, for 24 hours.
    clock.advance(hours=23, minutes=59)
    assert not service.hit(rules.SSPR_EMAIL, JAN).allowed
    assert service.blocked_until(GUESSES, JAN) is not None
    clock.advance(minutes=2)
    assert service.hit(rules.SSPR_EMAIL, JAN).allowed


def test_use_spread_over_the_window_is_never_refused(store, clock):
    for _ in range(30):
        assert service.hit(rules.SSPR_EMAIL, JAN).allowed
        clock.advance(minutes=1, seconds=1)


def test_without_a_penalty_a_full_window_refuses_until_its_oldest_use_leaves(store, clock):
    first = clock.now
    for _ in range(10):
        assert service.reserve(rules.REGISTRATION_WRONG_CODE, "42").allowed
        clock.advance(minutes=1)
    refused = service.reserve(rules.REGISTRATION_WRONG_CODE, "42")
    assert not refused.allowed and not refused.verdict.newly_blocked
    assert refused.blocked_until == first + timedelta(hours=1)
    assert service.blocked_until(rules.REGISTRATION_WRONG_CODE, "42") == refused.blocked_until
    clock.set(first + timedelta(hours=1, seconds=1))
    assert service.blocked_until(rules.REGISTRATION_WRONG_CODE, "42") is None
    assert service.reserve(rules.REGISTRATION_WRONG_CODE, "42").allowed


def test_the_limit_th_reserved_failure_blocks_at_once_and_is_still_compared(store, clock):
    for _ in range(4):
        reservation = service.reserve(GUESSES, JAN)
        assert reservation.allowed and not reservation.blocks_on_failure
    fifth = service.reserve(GUESSES, JAN)
    assert fifth.allowed and fifth.penalised and fifth.blocks_on_failure
    assert fifth.blocked_until == clock.now + timedelta(hours=24)
    assert service.blocked_until(rules.SSPR_QUESTIONS, JAN) == fifth.blocked_until
    refused = service.reserve(GUESSES, JAN)
    assert not refused.allowed and refused.blocked_until == fifth.blocked_until


def test_giving_back_a_right_answer_uncounts_it_and_lifts_its_penalty(store, clock):
    for _ in range(4):
        service.reserve(GUESSES, JAN)
    fifth = service.reserve(GUESSES, JAN)
    service.give_back(fifth)
    assert service.blocked_until(GUESSES, JAN) is None
    assert service.hit(rules.SSPR_QUESTIONS, JAN).allowed
    # Four failures still stand: the next one reaches the limit.
    assert service.reserve(GUESSES, JAN).penalised


def test_right_answers_given_back_never_add_up(store, clock):
    for _ in range(20):
        reservation = service.reserve(GUESSES, JAN)
        assert reservation.allowed and not reservation.penalised
        service.give_back(reservation)


def test_failures_leave_the_window_after_a_day(store, clock):
    for _ in range(4):
        service.reserve(GUESSES, JAN)
    clock.advance(hours=24, seconds=1)
    assert not service.reserve(GUESSES, JAN).penalised


def test_clear_forgets_every_count_and_penalty_of_the_scope_only(store, clock):
    for _ in range(6):
        service.hit(rules.SSPR_QUESTIONS, JAN)
    for _ in range(5):
        service.hit(rules.REGISTRATION_SMS, JAN)
    lifted = service.clear(Scope.SSPR, JAN, "piet@contoso.example")
    assert list(lifted) == [JAN] and lifted[JAN].by == "sspr.questions"
    assert lifted[JAN].until == clock.now + timedelta(hours=24)
    assert service.clear(Scope.SSPR, JAN) == {}  # a second lift finds nothing
    assert service.blocked_until(rules.SSPR_QUESTIONS, JAN) is None
    assert all(service.hit(rules.SSPR_QUESTIONS, JAN).allowed for _ in range(5))
    assert not service.hit(rules.REGISTRATION_SMS, JAN).allowed


def test_clearing_or_forgetting_a_subject_deletes_its_uses_with_it(clock):
    """The uses live in the subject's row: no count outlives its subject."""
    for key in (JAN, "piet@contoso.example"):
        for _ in range(3):
            service.hit(rules.SSPR_EMAIL, key)
    service.clear(Scope.SSPR, JAN)
    assert count_uses() == 3 and Subject.objects.count() == 1
    service.forget({Scope.SSPR: ["piet@contoso.example"]})
    assert (count_uses(), Subject.objects.count()) == (0, 0)


def test_subjects_are_counted_apart(store, clock):
    for _ in range(6):
        service.hit(rules.SSPR_QUESTIONS, JAN)
    assert service.hit(rules.SSPR_QUESTIONS, "piet@contoso.example").allowed


def test_a_back_off_doubles_and_a_quiet_window_starts_afresh(store, clock):
    rule = rules.SIGNIN_LOCKOUT
    reservations = [service.reserve(rule, JAN) for _ in range(10)]
    assert [r.penalised for r in reservations] == [False] * 9 + [True]
    assert reservations[-1].blocked_until == clock.now + timedelta(seconds=60)
    clock.advance(seconds=61)
    # The count stays at the limit: the next failure backs off for twice as long.
    again = service.reserve(rule, JAN)
    assert again.allowed and again.blocked_until == clock.now + timedelta(seconds=120)
    clock.advance(hours=24, minutes=3)
    assert not any(service.reserve(rule, JAN).penalised for _ in range(9))


def test_a_remembered_repeat_is_not_counted_again(clock):
    rule = rules.SIGNIN_LOCKOUT
    for _ in range(20):
        assert not service.reserve(rule, JAN, repeat_of="same-typo").penalised
    outcomes = [service.reserve(rule, JAN, repeat_of=f"guess-{n}").penalised for n in range(9)]
    assert outcomes == [False] * 8 + [True]


def test_durable_rules_stay_in_the_database_whatever_redis_url_says(settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/2"
    for rule in rules.RULES:
        chosen = service.store_for(rule.scope)
        assert isinstance(chosen, DatabaseStore if rule.durable else RedisStore), rule.name
    settings.REDIS_URL = ""
    assert isinstance(service.store_for(Scope.SIGNIN_PER_ADDRESS), DatabaseStore)


def test_an_unreachable_redis_fails_closed(clock):
    unreachable = RedisStore("redis://127.0.0.1:1/0")
    with pytest.raises(ThrottleUnavailableError):
        unreachable.take(
            rules.SIGNIN_FAILURES_PER_ADDRESS, "x", clock.now, reserve=False, fingerprint=""
        )


def test_stores_hold_only_keyed_digests(clock):
    service.hit(rules.SSPR_QUESTIONS, JAN)
    from opensspr.throttles.models import Subject

    assert JAN not in str(list(Subject.objects.values()))


def test_list_blocks_reads_many_subjects_at_once(clock):
    for _ in range(6):
        service.hit(rules.SSPR_QUESTIONS, JAN)
    blocks = service.list_blocks(Scope.SSPR, [JAN, "piet@contoso.example"])
    assert list(blocks) == [JAN] and blocks[JAN].by == "sspr.questions"


def test_a_use_and_a_given_back_reservation_cost_few_queries(clock):
    """The reset and sign-in hot paths pay this on every step (issue 8: ≤ 30 per reset)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as hit_queries:
        service.hit(rules.SSPR_EMAIL, JAN)
    with CaptureQueriesContext(connection) as reserve_queries:
        service.give_back(service.reserve(GUESSES, JAN))
    assert len(hit_queries) <= 4, [q["sql"] for q in hit_queries]
    assert len(reserve_queries) <= 5, [q["sql"] for q in reserve_queries]


def test_losing_the_cache_resets_no_durable_count(clock, settings):
    """Security bar F12: a Redis FLUSHALL (here: the cache cleared) lifts no block, refills no budget."""
    from django.core.cache import cache

    settings.OPENSSPR_PHONE_BUDGET_GLOBAL = 3
    for _ in range(6):
        service.hit(rules.SSPR_QUESTIONS, JAN)
    assert [service.hit(rules.PHONE_GLOBAL, "all").allowed for _ in range(4)][-1] is False
    cache.clear()
    assert service.blocked_until(rules.SSPR_QUESTIONS, JAN) is not None
    assert not service.hit(rules.PHONE_GLOBAL, "all").allowed


def test_blocks_of_a_whole_directory_are_matched_against_the_few_active_ones(
    clock, django_assert_num_queries
):
    """The registration report asks about 17 subjects a person: tens of thousands of keys,
    more than SQLite takes in one query. They are matched in memory against the active
    blocks, in one query, whatever their number."""
    people = [f"user{n}@contoso.example" for n in range(2000)]
    for _ in range(6):
        service.hit(rules.SSPR_QUESTIONS, people[1234])
    with django_assert_num_queries(1):
        blocks = service.list_blocks(Scope.SSPR, people)
    assert list(blocks) == [people[1234]]
    assert blocks[people[1234]].by == "sspr.questions"


def test_a_reservation_looks_at_another_subjects_pause_without_counting_it(store, clock):
    """The reset's send step reserves contact checks and looks at the way's pause at once."""
    for _ in range(4):
        service.reserve(GUESSES, JAN)
    checks = [(rules.SSPR_CONTACT_CHECKS_PER_FLOW, "41")]
    for _ in range(3):  # looking, however often, spends nothing of the looked-at limit
        taken, (paused,) = service.reserve_many_peeking(checks[:0], [(GUESSES, JAN)])
        assert taken == [] and paused is None
    assert service.reserve(GUESSES, JAN).blocks_on_failure  # still the 5th, not the 8th
    taken, (paused,) = service.reserve_many_peeking(checks, [(GUESSES, JAN)])
    assert [r.allowed for r in taken] == [True]
    assert paused == clock.now + timedelta(hours=24)
    assert service.reserve_many_peeking(checks, [(GUESSES, "piet@contoso.example")])[1] == [None]


def test_looking_at_a_pause_rides_in_the_reservations_statements(clock):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    service.reserve(GUESSES, JAN)
    takes = [
        (rules.SSPR_CONTACT_CHECKS_PER_ADDRESS, "192.0.2.7"),
        (rules.SSPR_CONTACT_CHECKS_PER_FLOW, "41"),
    ]
    with CaptureQueriesContext(connection) as queries:
        taken, (paused,) = service.reserve_many_peeking(takes, [(GUESSES, JAN)])
    assert all(r.allowed for r in taken) and paused is None
    data = [
        q for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    # One upsert locks both subjects and the pause's, adds the uses and returns the counts.
    assert len(data) == 1, [q["sql"] for q in data]
