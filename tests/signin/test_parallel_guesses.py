"""Guesses sent at once: smart lockout reserves each before the password is compared."""

import pytest

from opensspr.signin.services import SignInOutcome, sign_in
from tests.concurrency import needs_concurrent_writers, race
from tests.throttles.stored import count_uses


@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_guesses_compare_at_most_the_threshold(user_factory, clock, meta):
    needs_concurrent_writers()  # the PostgreSQL run proves the row lock
    user = user_factory()

    def guess(n: int) -> object:
        return lambda: sign_in(identifier=user.user_id, password=f"guess-{n}", meta=meta).outcome

    outcomes = race(*[guess(n) for n in range(50)])
    assert count_uses(rule="signin.lockout") == 10
    assert outcomes.count(SignInOutcome.INVALID) == 9, outcomes
    assert set(outcomes) == {SignInOutcome.INVALID, SignInOutcome.LOCKED}
