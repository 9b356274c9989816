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


@pytest.mark.django_db(transaction=True)
def test_parallel_checks_taken_and_given_back_on_one_flow_never_deadlock(clock, monkeypatch):
    """A typed contact's checks lock two rows (the address's and the flow's); a match gives
    both back. Give-backs lock those rows in the order takes do, so a double-click or a
    scripted burst on one flow never deadlocks (PostgreSQL would abort one request)."""
    needs_concurrent_writers()
    monkeypatch.setattr(service, "store_for", lambda scope: DatabaseStore())
    takes = [
        (rules.SSPR_CONTACT_CHECKS_PER_ADDRESS, "192.0.2.7"),
        (rules.SSPR_CONTACT_CHECKS_PER_FLOW, "41"),
    ]

    def check_and_match() -> bool:
        for _ in range(5):
            service.give_back_many(service.reserve_many(takes))
        return True

    for _round in range(3):
        outcomes = race(*[check_and_match] * 6)
        assert outcomes == [True] * 6, outcomes
    assert service.reserve_many(takes)[-1].allowed  # every check was given back
