"""Fifty answers at once against a limit of five: exactly five are compared, in both stores;
with the reset's growing pauses, the third sets a pause and nothing more is compared."""

from dataclasses import replace

import pytest

from opensspr.throttles import rules, service
from opensspr.throttles.database import DatabaseStore
from tests.concurrency import needs_concurrent_writers, race
from tests.throttles.conftest import redis_store

JAN = "jan@contoso.example"


#: A guess rule with a flat block, as both stores keep it.
GUESSES = replace(rules.SSPR_VERIFY_FAILURE, penalty=rules.SSPR_BLOCK)


def _fifty_reservations(rule: rules.Rule = GUESSES) -> list[object]:
    return race(*[lambda: service.reserve(rule, JAN).allowed] * 50)


@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_reservations_allow_exactly_five_in_the_database(clock, monkeypatch):
    needs_concurrent_writers()  # the PostgreSQL run proves the row lock
    monkeypatch.setattr(service, "store_for", lambda scope: DatabaseStore())
    outcomes = _fifty_reservations()
    assert outcomes.count(True) == 5, outcomes


@pytest.mark.django_db(transaction=True)
def test_parallel_sends_never_pass_the_limit_in_the_database(clock, monkeypatch):
    needs_concurrent_writers()
    monkeypatch.setattr(service, "store_for", lambda scope: DatabaseStore())
    outcomes = race(*[lambda: service.hit(rules.SSPR_SMS, JAN).allowed] * 12)
    assert outcomes.count(True) == 5, outcomes


def test_fifty_parallel_reservations_allow_exactly_five_in_redis(clock, monkeypatch):
    chosen = redis_store()
    monkeypatch.setattr(service, "store_for", lambda scope: chosen)
    outcomes = _fifty_reservations()
    assert outcomes.count(True) == 5, outcomes


@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_wrong_codes_stop_at_the_pause_the_third_sets(clock):
    """The reset's own rule (database only): the third reservation sets a 30-second pause
    under the row lock, so exactly three are compared however many arrive at once."""
    needs_concurrent_writers()
    outcomes = _fifty_reservations(rules.SSPR_VERIFY_FAILURE)
    assert outcomes.count(True) == 3, outcomes
