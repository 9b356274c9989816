"""Single use holds across processes: of many simultaneous redemptions, one wins."""

import threading

import pytest
from django.db import connection

from opensspr.captcha.models import UsedChallenge
from opensspr.captcha.services import verify_captcha

THREADS = 8


@pytest.mark.django_db(transaction=True)
def test_one_payload_verified_from_many_threads_is_accepted_once(solved_payload):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: the in-memory SQLite test database fails concurrent writers")
    payload = solved_payload()
    barrier = threading.Barrier(THREADS)
    results: list[bool] = []
    errors: list[BaseException] = []

    def redeem() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(verify_captcha(payload))
        except BaseException as exc:  # surfaced below; a thread must not swallow it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert sorted(results) == [False] * (THREADS - 1) + [True]
    assert UsedChallenge.objects.count() == 1
