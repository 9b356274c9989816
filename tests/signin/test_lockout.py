"""Smart lockout timing on a controllable clock (reference §5.4)."""

import pytest

from opensspr.audit.models import AuditEvent
from opensspr.signin.services import SignInOutcome, sign_in
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def _fail(user_id, meta, n, *, distinct=True, start=0):
    results = []
    for i in range(start, start + n):
        password = f"wrong-guess-{i}" if distinct else "wrong-guess"
        results.append(sign_in(identifier=user_id, password=password, meta=meta).outcome)
    return results


def test_ten_distinct_failures_lock_the_account_for_sixty_seconds(user_factory, clock, meta):
    user = user_factory()
    outcomes = _fail(user.user_id, meta, 10)
    assert outcomes[:9] == [SignInOutcome.INVALID] * 9
    assert outcomes[9] == SignInOutcome.LOCKED
    # Locked: even the right password is refused, and not checked.
    assert sign_in(identifier=user.user_id, password=DEFAULT_PASSWORD, meta=meta).outcome == (
        SignInOutcome.LOCKED
    )
    clock.advance(seconds=59)
    assert sign_in(identifier=user.user_id, password=DEFAULT_PASSWORD, meta=meta).outcome == (
        SignInOutcome.LOCKED
    )
    clock.advance(seconds=2)
    assert sign_in(identifier=user.user_id, password=DEFAULT_PASSWORD, meta=meta).outcome == (
        SignInOutcome.SUCCESS
    )


def test_repeating_the_same_wrong_password_does_not_count_again(user_factory, clock, meta):
    user = user_factory()
    assert set(_fail(user.user_id, meta, 50, distinct=False)) == {SignInOutcome.INVALID}
    # Nine distinct ones now reach the threshold of ten (one was counted already).
    outcomes = _fail(user.user_id, meta, 9, start=100)
    assert outcomes[-1] == SignInOutcome.LOCKED
    assert outcomes[:-1] == [SignInOutcome.INVALID] * 8


def test_only_the_last_three_wrong_passwords_are_remembered(user_factory, clock, meta):
    user = user_factory()
    _fail(user.user_id, meta, 4)  # wrong-guess-0..3 counted: 4
    # wrong-guess-0 fell out of the remembered three: it counts again.
    _fail(user.user_id, meta, 1, start=0)
    outcomes = _fail(user.user_id, meta, 5, start=10)  # 6..10
    assert outcomes[-1] == SignInOutcome.LOCKED


def test_first_failure_after_a_lockout_locks_again_for_longer(user_factory, clock, meta):
    user = user_factory()
    _fail(user.user_id, meta, 10)
    clock.advance(seconds=61)
    assert _fail(user.user_id, meta, 1, start=20) == [SignInOutcome.LOCKED]
    clock.advance(seconds=119)
    assert sign_in(identifier=user.user_id, password=DEFAULT_PASSWORD, meta=meta).outcome == (
        SignInOutcome.LOCKED
    )
    clock.advance(seconds=2)  # second lockout lasts 120 s
    assert sign_in(identifier=user.user_id, password=DEFAULT_PASSWORD, meta=meta).outcome == (
        SignInOutcome.SUCCESS
    )


def test_lockout_growth_is_capped(user_factory, clock, meta, settings):
    settings.OPENSSPR_LOCKOUT_MAX_SECONDS = 300
    user = user_factory()
    _fail(user.user_id, meta, 10)
    for round_ in range(6):  # 60, 120, 240, 300, 300, 300
        clock.advance(seconds=301)
        _fail(user.user_id, meta, 1, start=100 + round_)
    clock.advance(seconds=299)
    assert sign_in(identifier=user.user_id, password=DEFAULT_PASSWORD, meta=meta).outcome == (
        SignInOutcome.LOCKED
    )
    clock.advance(seconds=2)
    assert sign_in(identifier=user.user_id, password=DEFAULT_PASSWORD, meta=meta).outcome == (
        SignInOutcome.SUCCESS
    )


def test_success_clears_the_failure_count(user_factory, clock, meta):
    user = user_factory()
    _fail(user.user_id, meta, 9)
    assert sign_in(identifier=user.user_id, password=DEFAULT_PASSWORD, meta=meta).outcome == (
        SignInOutcome.SUCCESS
    )
    assert set(_fail(user.user_id, meta, 9, start=50)) == {SignInOutcome.INVALID}


def test_failures_are_forgotten_after_a_quiet_day(user_factory, clock, meta):
    user = user_factory()
    _fail(user.user_id, meta, 9)
    clock.advance(hours=25)
    assert set(_fail(user.user_id, meta, 9, start=50)) == {SignInOutcome.INVALID}


def test_unknown_user_ids_lock_exactly_like_known_ones(user_factory, clock, meta):
    user_factory("known@contoso.example")
    known = _fail("known@contoso.example", meta, 11)
    unknown = _fail("nobody@contoso.example", meta, 11)
    assert known == unknown


def test_lockout_is_audited_once_without_the_guesses(user_factory, clock, meta):
    user = user_factory()
    _fail(user.user_id, meta, 12)
    locks = AuditEvent.objects.filter(activity="signin.locked_out", target=user)
    assert locks.count() == 1
    for event in AuditEvent.objects.all():
        assert "wrong-guess" not in str(event.details) + event.reason + event.target_label
