"""Single use holds across processes: of many simultaneous redemptions, one wins."""

import pytest
from django.db import connection

from opensspr.captcha.models import UsedChallenge
from opensspr.captcha.services import verify_captcha
from tests.concurrency import race

THREADS = 8


@pytest.mark.django_db(transaction=True)
def test_one_payload_verified_from_many_threads_is_accepted_once(solved_payload):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: the in-memory SQLite test database fails concurrent writers")
    payload = solved_payload()
    outcomes = race(*[lambda: verify_captcha(payload)] * THREADS)
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    results = [o for o in outcomes if not isinstance(o, BaseException)]
    assert not errors, errors
    assert sorted(results) == [False] * (THREADS - 1) + [True]
    assert UsedChallenge.objects.count() == 1
