"""Errors a person meets are clear, translated and carry no internal detail."""

import pytest
from django.test import Client
from django.urls import path

from opensspr.config import urls as project_urls

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("internal detail that must not leak: db password hunter2")


urlpatterns = [*project_urls.urlpatterns, path("boom", _boom)]
handler500 = project_urls.handler500


def test_missing_page_is_branded_and_translated(client):
    response = client.get("/no/such/page?mkt=nl-nl")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Pagina niet gevonden" in body and "Naar de startpagina" in body


def test_expired_form_explains_what_to_do():
    response = Client(enforce_csrf_checks=True).post("/signin", {"user_id": "a", "password": "b"})
    assert response.status_code == 403
    body = response.content.decode()
    assert "Your form has expired" in body and "reload the page" in body
    assert "CSRF" not in body


def test_server_error_shows_a_reference_and_nothing_internal(settings):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    response = client.get("/boom")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body and "Nothing was changed" in body
    assert response["X-Request-ID"] in body
    assert "hunter2" not in body and "Traceback" not in body and "RuntimeError" not in body
