"""Races for tests: many threads released at once against one database.

Every race test needs the same harness: a barrier so the threads really
collide, each thread closing its own database connection, a bound on how long
anything may hang, and the outcomes (or exceptions) collected for the asserts.
"""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

BOUNDED = 30  # seconds a racing thread may take at most


def needs_concurrent_writers() -> None:
    """Skip on SQLite: it serialises writers, so the race can't happen; PostgreSQL proves it."""
    if connection.vendor == "sqlite":
        pytest.skip("needs a database with concurrent writers (runs on PostgreSQL)")


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call in its own thread, all released together.

    Returns, in the order of ``calls``, what each returned or the exception it
    raised (a thread must never swallow one).
    """
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(BOUNDED)
            outcomes[index] = call()
        except BaseException as exc:  # handed to the test
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    try:
        for thread in threads:
            thread.start()
    finally:
        if any(t.ident is None for t in threads):
            barrier.abort()  # a thread never started: release those waiting for it
        for thread in threads:
            if thread.ident is not None:
                thread.join(BOUNDED)
    assert not any(t.is_alive() for t in threads), "a racing thread hung"
    return outcomes
