"""Short and growing pauses (rules.Pauses): the reset's wrong codes, in the database store.

A person who mistypes a code is paused for 30 seconds, then 2 minutes; only the limit-th failure
in a day blocks that way, and only until the oldest of them is a day old, so no more than
the limit is ever compared in one day (issue 12: no cheap day-long lockout, still bounded).
"""

from datetime import timedelta

import pytest

from opensspr.throttles import rules, service

pytestmark = pytest.mark.django_db
RULE = rules.SSPR_VERIFY_FAILURE
JAN = "jan@contoso.example"


def _wrong(at_least_allowed: bool = True):
    reservation = service.reserve(RULE, JAN)
    if at_least_allowed:
        assert reservation.allowed
    return reservation


def test_the_third_wrong_answer_pauses_30_s_the_fourth_2_min_the_fifth_until_the_day_frees(
    clock,
):
    first_at = clock.now
    assert not _wrong().penalised
    clock.advance(seconds=10)
    assert not _wrong().penalised
    clock.advance(seconds=10)
    third = _wrong()
    assert third.penalised and third.blocked_until == clock.now + timedelta(seconds=30)
    assert not RULE.final(third.verdict.used)
    refused = service.reserve(RULE, JAN)
    assert not refused.allowed and refused.blocked_until == third.blocked_until
    clock.advance(seconds=31)
    fourth = _wrong()
    assert fourth.penalised and fourth.blocked_until == clock.now + timedelta(minutes=2)
    clock.advance(minutes=1)
    assert not service.reserve(RULE, JAN).allowed  # still paused
    clock.advance(minutes=1, seconds=1)
    fifth = _wrong()
    assert fifth.penalised and RULE.final(fifth.verdict.used)
    # Blocked until the oldest of the five is a day old: not a day from now.
    assert fifth.blocked_until == first_at + timedelta(hours=24)
    clock.set(first_at + timedelta(hours=23, minutes=59))
    assert not service.reserve(RULE, JAN).allowed
    clock.set(first_at + timedelta(hours=24, seconds=1))
    # The oldest left the window: one more guess is allowed, and it blocks again at once,
    # until the next oldest (the second, 10 s after the first) is a day old.
    sixth = _wrong()
    assert RULE.final(sixth.verdict.used)
    assert sixth.blocked_until == first_at + timedelta(hours=24, seconds=10)


def test_never_more_than_five_compared_in_any_day_however_they_are_spread(clock):
    compared = []
    start = clock.now
    while clock.now < start + timedelta(days=3):
        reservation = service.reserve(RULE, JAN)
        if reservation.allowed:
            compared.append(clock.now)
        clock.advance(seconds=30)
    assert len(compared) >= 15  # the person is never kept out for good
    for n, at in enumerate(compared):
        same_day = [t for t in compared[n:] if t < at + timedelta(hours=24)]
        assert len(same_day) <= RULE.max_uses()


def test_a_right_answer_during_the_schedule_lifts_the_pause_it_reserved(clock):
    _wrong()
    _wrong()
    third = service.reserve(RULE, JAN)  # reserved before the (right) answer is compared
    assert third.penalised
    service.give_back(third)
    assert service.blocked_until(RULE, JAN) is None
    # The two real failures still count: the next one is the third again.
    assert service.reserve(RULE, JAN).blocked_until == clock.now + timedelta(seconds=30)


def test_a_pause_on_one_subject_leaves_the_others_alone(clock):
    for _ in range(3):
        _wrong()
    assert service.reserve(RULE, "piet@contoso.example").allowed


def test_redis_refuses_to_keep_growing_pauses(settings):
    from opensspr.throttles.redis_store import RedisStore

    with pytest.raises(ValueError, match="database only"):
        RedisStore("redis://127.0.0.1:6379/15").take(
            RULE, "digest", clock_now(), reserve=True, fingerprint=""
        )


def clock_now():
    from opensspr.core import clock

    return clock.now()
