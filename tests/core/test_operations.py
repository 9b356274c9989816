"""Health, readiness, metrics, security headers and language selection."""

import pytest

from opensspr.signin.change import change_password
from opensspr.signin.services import sign_in
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def test_healthz_and_readyz_answer(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "cache": True}


def test_readyz_reports_an_unreachable_cache(client, settings):
    # A Redis that isn't there (port 1 on loopback refuses at once).
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "not ready", "checks": {"database": True, "cache": False}}


def test_metrics_count_requests_and_sign_ins(client, user_factory, meta):
    user = user_factory()
    sign_in(identifier=user.user_id, password=DEFAULT_PASSWORD, meta=meta)
    change_password(user=user, current_password="Not-The-One-1", new_password="x", meta=meta)
    client.get("/healthz")
    body = client.get("/metrics").content.decode()
    assert 'opensspr_http_requests_total{method="GET",status="200",view="healthz"}' in body
    assert 'opensspr_sign_ins_total{outcome="success"}' in body
    assert 'opensspr_password_changes_total{outcome="wrong_current_password"}' in body


def test_metrics_token_is_enforced_when_set(client, settings):
    settings.OPENSSPR_METRICS_TOKEN = "metrics-token-abc"
    assert client.get("/metrics").status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer metrics-token-abc"})
    assert ok.status_code == 200


def test_metrics_refuse_a_remote_address_when_no_token_is_set(client, settings):
    """Attack A1: open metrics count sent emails, so they must not be public by default."""
    settings.OPENSSPR_METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200


def test_metrics_refuse_a_request_relayed_by_a_proxy_on_loopback(client, settings):
    """A reverse proxy on the same host connects from loopback on behalf of anyone."""
    settings.OPENSSPR_METRICS_TOKEN = ""
    relayed = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert client.get("/metrics", **relayed).status_code == 403
    settings.OPENSSPR_TRUSTED_PROXY_HOPS = 1
    assert client.get("/metrics", **relayed).status_code == 403
    local = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "127.0.0.1"}
    assert client.get("/metrics", **local).status_code == 200


def test_metrics_token_opens_metrics_to_any_address(client, settings):
    settings.OPENSSPR_METRICS_TOKEN = "metrics-token-abc"
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", **remote).status_code == 401
    authorised = client.get(
        "/metrics", headers={"Authorization": "Bearer metrics-token-abc"}, **remote
    )
    assert authorised.status_code == 200


def test_auth_pages_carry_the_security_headers(client):
    response = client.get("/signin")
    csp = response["Content-Security-Policy"]
    for directive in (
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "default-src 'self'",
    ):
        assert directive in csp
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Request-ID"]
    cookie = response.cookies["opensspr-csrf"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_sign_in_form_requires_csrf(user_factory):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/signin", {"user_id": "x@contoso.example", "password": "y"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("query", "headers", "expected"),
    [
        ("", {}, "en"),
        ("", {"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"}, "nl"),
        ("?mkt=nl-nl", {"Accept-Language": "en-US"}, "nl"),
        ("?mkt=en-us", {"Accept-Language": "nl"}, "en"),
        ("?mkt=xx-yy", {"Accept-Language": "nl"}, "nl"),
    ],
)
def test_language_from_browser_overridden_by_mkt(client, query, headers, expected):
    response = client.get(f"/signin{query}", headers=headers)
    assert response["Content-Language"] == expected
    assert f'<html lang="{expected}">' in response.content.decode()


def test_mkt_choice_is_kept_for_the_session(client):
    client.get("/signin?mkt=nl-nl")
    response = client.get("/signin", headers={"Accept-Language": "en"})
    assert response["Content-Language"] == "nl"
    assert "Aanmelden" in response.content.decode()


def test_switching_language_keeps_where_the_person_was_going(client):
    """The language link changes only the language: a sign-in on its way to the console
    still lands there (the link was a bare ``?mkt=``, which dropped ``next``)."""
    page = client.get("/signin?next=/console/").content.decode()
    assert 'href="?next=%2Fconsole%2F&amp;mkt=nl" lang="nl"' in page
    dutch = client.get("/signin?next=/console/&mkt=nl").content.decode()
    assert 'href="?next=%2Fconsole%2F&amp;mkt=en" lang="en"' in dutch
    assert 'name="next" value="/console/"' in dutch


def test_field_errors_are_announced_with_their_input(client, user_factory):
    from tests.conftest import DEFAULT_PASSWORD

    user = user_factory()
    client.post("/signin", {"user_id": user.user_id, "password": DEFAULT_PASSWORD})
    response = client.post(
        "/password/change",
        {
            "current_password": DEFAULT_PASSWORD,
            "new_password": "short",
            "confirm_password": "short",
        },
    )
    html = response.content.decode()
    assert 'aria-describedby="id_new_password_error"' in html
    assert '<ul class="errors" id="id_new_password_error">' in html
    assert 'type="password"' in html and 'autocomplete="new-password"' in html
