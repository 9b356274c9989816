"""Timing parity: a known and an unknown user ID take the same time (attack A1, test 2).

The security bar's test: interleaved requests per class, alternating order;
the medians within 5 ms and a two-sample Kolmogorov-Smirnov test unable to tell
the two distributions apart (p > 0.01). Without the response-time floor the
same comparison fails: known IDs are measurably slower (see core/timing.py).

Wall-clock statistics, so marked ``timing``: the default run leaves them out and
``./dev test`` runs them as their own step (``pytest -m timing``).
"""

import statistics
import time

import pytest
from django.test import Client
from scipy.stats import ks_2samp

from tests.portal.conftest import solved_captcha

pytestmark = [pytest.mark.timing, pytest.mark.django_db]
SAMPLES = 80
KNOWN, UNKNOWN = "known@contoso.example", "ghost@contoso.example"


FLOOR_MS = 80


@pytest.fixture
def floored(settings):
    settings.OPENSSPR_RESET_MIN_RESPONSE_MS = FLOOR_MS
    settings.OPENSSPR_CAPTCHA_MAX_NUMBER = 1000  # the proof of work isn't what's measured


def _timed(call):
    started = time.perf_counter()
    response = call()
    return (time.perf_counter() - started) * 1000, response


def _two_steps(user_id):
    """Start a flow and answer "why are you having trouble?": the steps that look the ID up."""
    client = Client()
    captcha = solved_captcha()  # solved beforehand: the person's browser does this
    start, response = _timed(
        lambda: client.post("/reset", {"user_id": user_id, "captcha": captcha})
    )
    assert response.status_code == 302
    choose, response = _timed(
        lambda: client.post("/reset/flow", {"action": "operation", "operation": "reset"})
    )
    assert response.status_code == 302
    return start, choose


def _measure():
    times = {KNOWN: ([], []), UNKNOWN: ([], [])}
    for sample in range(SAMPLES):
        order = (KNOWN, UNKNOWN) if sample % 2 else (UNKNOWN, KNOWN)
        for user_id in order:
            start, choose = _two_steps(user_id)
            times[user_id][0].append(start)
            times[user_id][1].append(choose)
    return times


def _assert_alike(known, unknown):
    assert abs(statistics.median(known) - statistics.median(unknown)) < 5
    assert ks_2samp(known, unknown).pvalue > 0.01


def test_known_and_unknown_ids_take_the_same_time(user_factory, floored):
    user_factory(KNOWN, auth_email="known@mail.example", mobile_phone="+31612345678")
    times = _measure()
    for step in (0, 1):
        _assert_alike(times[KNOWN][step], times[UNKNOWN][step])
    assert min(times[UNKNOWN][0]) >= FLOOR_MS  # the floor is what levels them
