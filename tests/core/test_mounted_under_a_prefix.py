"""Mounted under a path prefix (``SCRIPT_NAME``, a proxy's sub-path), the site's own path
decides: the response floor, the API's problem answers and the way back from "verify it's
you", tested here (the request slots and a temporary access pass's pages check
``path_info`` the same way).

``request.path`` carries the prefix and ``request.path_info`` doesn't: a check on the
former would leave every reset step of a site served at ``/sspr/`` without its floor, so
its answers' times could tell a known user ID from an unknown one again.
"""

import json
from collections.abc import Iterator

import pytest
from django.test import RequestFactory
from django.urls import clear_script_prefix, reverse, set_script_prefix

from opensspr.config.errors import server_error
from opensspr.core.timing import _floor_for
from opensspr.registration.views import safe_return

PREFIX = "/sspr"


@pytest.fixture
def mounted() -> RequestFactory:
    return RequestFactory(SCRIPT_NAME=PREFIX)


@pytest.mark.parametrize("path", ["/reset/", "/api/v1/resets", "/api/v1/resets/current/operation"])
def test_every_reset_step_keeps_its_floor_under_a_prefix(mounted, path, settings):
    settings.OPENSSPR_RESET_MIN_RESPONSE_MS = 150  # the default (the tests run with none)
    request = mounted.post(path)
    assert request.path == PREFIX + path  # the prefix is there, as a proxy sends it
    assert _floor_for(request) == 0.150


def test_other_pages_have_no_floor_under_a_prefix(mounted, settings):
    settings.OPENSSPR_RESET_MIN_RESPONSE_MS = 150
    assert _floor_for(mounted.get("/console/")) == 0.0


@pytest.mark.django_db
def test_an_api_failure_is_a_problem_object_under_a_prefix(mounted):
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        answer = server_error(mounted.get("/api/v1/resets"))
    assert answer.status_code == 500
    assert answer["Content-Type"].startswith("application/problem+json")
    assert "boom" not in json.dumps(json.loads(answer.content))


@pytest.fixture
def prefixed() -> Iterator[None]:
    set_script_prefix(PREFIX + "/")  # what Django's handler sets for each request
    yield
    clear_script_prefix()


@pytest.mark.usefixtures("prefixed")
def test_verify_it_is_you_brings_the_person_back_under_the_prefix():
    page = reverse("registration:app")  # a security-info page, as its full path gives it
    assert page == PREFIX + "/security-info/authenticator-app"
    assert safe_return(page) == page
    assert safe_return("/security-info/app") == PREFIX + "/security-info"  # not ours: home
    assert safe_return(PREFIX + "/security-info//evil.example") == PREFIX + "/security-info"
