"""Issue 12 item 6 on the pages: an outage shows the "nothing was changed" page, 503.

Real failures: the database locked by another connection's write transaction,
and sessions kept in a Redis that isn't there (port 1 refuses at once).
"""

import pytest
from django.test import Client

from tests.api.test_failures import DEAD_REDIS, locked_sqlite  # noqa: F401 (a fixture)
from tests.portal.conftest import solved_captcha


def _assert_nothing_changed_page(response, *, dutch: bool = False) -> None:
    assert response.status_code == 503
    body = response.content.decode()
    if dutch:
        assert "Er is niets gewijzigd" in body
    else:
        assert "We can't do this right now" in body and "Nothing was changed" in body
    assert response["X-Request-ID"] in body
    assert "Traceback" not in body and "locked" not in body and "Redis" not in body


@pytest.mark.django_db(transaction=True)
def test_a_locked_database_shows_the_nothing_was_changed_page(jan, locked_sqlite):  # noqa: F811
    client = Client(raise_request_exception=False)
    response = client.post("/reset", {"user_id": jan.user_id, "captcha": solved_captcha()})
    _assert_nothing_changed_page(response)


@pytest.mark.django_db(transaction=True)
def test_the_page_is_translated(jan, locked_sqlite):  # noqa: F811
    client = Client(raise_request_exception=False, headers={"Accept-Language": "nl"})
    response = client.post("/reset", {"user_id": jan.user_id, "captcha": solved_captcha()})
    _assert_nothing_changed_page(response, dutch=True)


@pytest.mark.django_db
def test_sessions_in_an_unreachable_redis_show_the_page(jan, settings):
    captcha = solved_captcha()
    settings.CACHES = DEAD_REDIS
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    client = Client(raise_request_exception=False)
    response = client.post("/reset", {"user_id": jan.user_id, "captcha": captcha})
    _assert_nothing_changed_page(response)


@pytest.mark.django_db
def test_a_bug_still_answers_500(settings):
    settings.ROOT_URLCONF = "tests.core.test_error_pages"
    response = Client(raise_request_exception=False).get("/boom")
    assert response.status_code == 500
