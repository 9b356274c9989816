"""GET /captcha/challenge: a fresh, uncacheable challenge for every request."""

import pytest
from django.urls import reverse

from opensspr.captcha.services import verify_captcha
from tests.captcha.conftest import pack, payload_fields

pytestmark = pytest.mark.django_db


def test_challenge_endpoint_serves_fresh_no_store_json(client):
    url = reverse("captcha:challenge")
    assert url == "/captcha/challenge"
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    first = response.json()
    assert set(first) == {"algorithm", "challenge", "maxNumber", "salt", "signature"}
    assert client.get(url).json()["challenge"] != first["challenge"]
    assert verify_captcha(pack(payload_fields(first))) is True


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_challenge_endpoint_answers_only_get(client, method):
    response = getattr(client, method)("/captcha/challenge")
    assert response.status_code == 405
