"""Issue 12 item 6: a dependency outage answers problem+json 503, anything else 500.

Real failures: a SQLite database locked by another connection's write
transaction, a cache pointed at a Redis port where nothing listens, a view that
raises. Every answer carries the request's correlation id, and the document
declares it (the ``api`` client validates every response against the document).
"""

import sqlite3
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import path

from opensspr.api.problems import PROBLEM_CONTENT_TYPE
from tests.api.conftest import solved_captcha
from tests.api.urls import urlpatterns as api_urlpatterns


def _boom(request):
    raise RuntimeError("internal detail that must not leak: db password hunter2")


urlpatterns = [*api_urlpatterns, path("api/v1/boom", _boom)]
handler500 = "opensspr.config.errors.server_error"

DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1: refused at once
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


@pytest.fixture
def locked_sqlite() -> Iterator[None]:
    """Another connection holds the write lock, as a long write in another process does."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's write lock")
    name = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout = 300")  # wait 0.3 s, not the configured 20 s
    holder = sqlite3.connect(name, uri=name.startswith("file:"), isolation_level=None)
    holder.execute("PRAGMA busy_timeout = 300")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE django_session SET expire_date = expire_date")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _assert_problem(response, status: int, code: str) -> None:
    assert response.status == status, response.body
    assert response.headers["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response.body["code"] == code
    assert response.body["correlation_id"] == response.headers["X-Request-ID"]


@pytest.mark.django_db(transaction=True)
def test_a_locked_database_answers_503_problem(api, jan, locked_sqlite):
    started = api.post("/resets", {"user_id": "jan@contoso.example", "captcha": solved_captcha()})
    _assert_problem(started, 503, "service_unavailable")
    assert "locked" not in str(started.body)


@pytest.mark.django_db
def test_every_problem_carries_the_correlation_id(api):
    refused = api.get("/resets/current")
    _assert_problem(refused, 401, "flow_not_found")


@pytest.mark.django_db
def test_an_unexpected_error_answers_500_problem_without_detail(settings):
    settings.ROOT_URLCONF = __name__
    response = Client(raise_request_exception=False).get("/api/v1/boom")
    assert response.status_code == 500
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["code"] == "server_error" and body["status"] == 500
    assert body["correlation_id"] == response["X-Request-ID"]
    assert "hunter2" not in response.content.decode()
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_an_unreachable_cache_outside_the_view_answers_503_problem(settings):
    """Redis down where the API's own code never reaches it: a middleware's cache read."""
    settings.ROOT_URLCONF = __name__
    settings.CACHES = DEAD_REDIS
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.api.test_failures.CacheReadingMiddleware"]
    response = Client(raise_request_exception=False).get("/api/v1/resets/current")
    assert response.status_code == 503
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["code"] == "service_unavailable"
    assert body["correlation_id"] == response["X-Request-ID"]


def test_the_document_declares_500_and_503_for_every_operation(document):
    for path_item in document["paths"].values():
        for operation in path_item.values():
            assert {"500", "503"} <= set(operation["responses"]), operation["operationId"]
            codes = operation["responses"]["503"]["content"]["application/problem+json"]
            assert "service_unavailable" in codes["schema"]["properties"]["code"]["enum"]


class CacheReadingMiddleware:
    """Reads the cache on every request, as a session or rate-limit middleware would."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        cache.get("opensspr:probe")
        return self.get_response(request)
