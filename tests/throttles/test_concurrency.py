"""Fifty answers at once against a limit of five: exactly five are compared, in both stores;
with the reset's growing pauses, the third sets a pause and nothing more is compared."""

import threading
import time
from dataclasses import replace

import pytest
from django.db import connection, transaction

from opensspr.core import clock
from opensspr.throttles import rules, service
from opensspr.throttles.database import DatabaseStore
from opensspr.throttles.models import Subject
from opensspr.throttles.rules import Scope
from tests.concurrency import needs_concurrent_writers, race
from tests.throttles.conftest import redis_store

JAN = "jan@contoso.example"
WAIT = 10.0  # seconds any thread here waits at most


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


def _waiting_on_a_lock(pid: int) -> bool:
    """Whether the session ``pid`` of this database now waits for a lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = %s "
            "AND datname = current_database() AND wait_event_type = 'Lock'",
            [pid],
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("forgetting", "scopes"),
    [
        ("forget", (Scope.SIGNIN_LOCKOUT, Scope.SSPR)),  # a reset's end: two scopes
        ("clear", (Scope.SIGNIN_LOCKOUT, Scope.SIGNIN_LOCKOUT)),  # one scope's subjects
    ],
)
def test_forgetting_subjects_locks_them_in_the_order_takes_do(forgetting, scopes):
    """The DELETE of a reset's end used to lock the rows in the order it found them: here
    the row a take locks second, stored first, was locked while the DELETE waited for the
    other, and a take holding that other one and waiting for it would have deadlocked.
    Now both wait before touching either."""
    needs_concurrent_writers()
    sooner_scope, later_scope = scopes
    later = Subject.objects.create(scope=later_scope, key="b" * 64)  # stored first
    sooner = Subject.objects.create(scope=sooner_scope, key="a" * 64)
    store, holding, release = DatabaseStore(), threading.Event(), threading.Event()
    forgetter_pid: list[int] = []

    def hold_the_sooner_row() -> None:  # as a take holding it would
        try:
            with transaction.atomic():
                Subject.objects.select_for_update().get(pk=sooner.pk)
                holding.set()
                release.wait(WAIT)
        finally:
            connection.close()

    def forget() -> None:
        try:
            with connection.cursor() as cursor:
                # Whatever plan PostgreSQL would choose: a table scan finds the later row
                # first (an index scan happens to go in key order on a small table).
                for scan in ("indexscan", "indexonlyscan", "bitmapscan"):
                    cursor.execute(f"SET enable_{scan} = off")
                cursor.execute("SELECT pg_backend_pid()")
                forgetter_pid.append(cursor.fetchone()[0])
            if forgetting == "forget":
                store.forget([(sooner_scope, [sooner.key]), (later_scope, [later.key])])
            else:
                store.clear(sooner_scope, [later.key, sooner.key], clock.now())
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_sooner_row)
    holder.start()
    forgetter = None
    try:
        assert holding.wait(WAIT)
        forgetter = threading.Thread(target=forget)
        forgetter.start()
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and not (
            forgetter_pid and _waiting_on_a_lock(forgetter_pid[0])
        ):
            time.sleep(0.02)
        assert forgetter_pid and _waiting_on_a_lock(forgetter_pid[0])
        with transaction.atomic():  # the later row is still free: nothing holds it
            Subject.objects.select_for_update(nowait=True).get(pk=later.pk)
    finally:
        release.set()
        holder.join(WAIT)
        if forgetter is not None:
            forgetter.join(WAIT)
    assert not Subject.objects.filter(pk__in=[sooner.pk, later.pk]).exists()
