"""Known and unknown user IDs get byte-identical pages (attack A1).

Three IDs walk the same steps: one that can reset, a known one without any
method, and one that doesn't exist. Every response is compared whole: status,
header names and values (but the request id, expiry and length), cookie names and attributes (but
the session id), and the body once CSRF tokens are blanked.
"""

import re
from urllib.parse import quote

import pytest
from django.test import Client

from tests.conftest import update_policy
from tests.portal.conftest import solved_captcha

pytestmark = pytest.mark.django_db

IDS = ("eligible@contoso.example", "nomethods@contoso.example", "ghost@contoso.example")
_REFERENCE = re.compile(r"R-[A-Z0-9]{6}")
_CSRF = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+(")')
# Values that differ per response whoever asks: the request id, the wall-clock expiry,
# and the length (the body is compared whole instead, after normalising).
_VOLATILE_HEADERS = {"X-Request-ID", "Expires", "Content-Length"}


@pytest.fixture(autouse=True)
def _email_only_policy(user_factory, clock):
    update_policy(
        allow_mobile_sms=False,
        allow_mobile_voice=False,
        allow_office_voice=False,
        allow_app_code=False,
    )
    user_factory(IDS[0], auth_email="eligible@mail.example")
    user_factory(IDS[1])
    user_factory("helen@contoso.example", email="helen@contoso.example", roles=("helpdesk_admin",))


def _snapshot(response, user_id: str) -> tuple:
    cookies = {
        name: {k: v for k, v in morsel.items() if v and k != "expires"}  # wall clock
        for name, morsel in response.cookies.items()
    }
    headers = {k: "" if k in _VOLATILE_HEADERS else v for k, v in response.headers.items()}
    body = _CSRF.sub(r"\1-\2", response.content.decode()).replace(user_id, "<typed ID>")
    body = body.replace(quote(user_id, safe=""), "<typed ID>")  # the start-over link
    body = _REFERENCE.sub("<reference>", body)  # a fresh random reference for every ask
    return response.status_code, headers, cookies, body


def _walk(user_id: str) -> list[tuple]:
    client = Client()
    steps = [
        lambda: client.get(f"/reset?username={user_id}"),
        lambda: client.post("/reset", {"user_id": user_id, "captcha": solved_captcha()}),
        lambda: client.get("/reset/flow"),
        lambda: client.post("/reset/flow", {"action": "operation", "operation": "reset"}),
        lambda: client.get("/reset/flow"),  # the first verification step
        lambda: client.post(
            "/reset/flow",
            {"action": "method", "method": "email", "contact_email": "guess@mail.example"},
        ),
        lambda: client.post("/reset/flow", {"action": "contact_admin"}),
        lambda: client.get("/reset/flow"),
        lambda: client.post("/reset/flow", {"action": "method", "method": "email"}),
        lambda: client.get("/reset/recovery"),  # "I have none of these"
        lambda: client.post("/reset/recovery", {"flow_seq": "1"}),
        lambda: client.post("/reset/recovery", {"flow_seq": "1"}),  # asked again
    ]
    return [_snapshot(step(), user_id) for step in steps]


def test_every_page_is_the_same_whatever_the_user_id():
    eligible, no_methods, unknown = (_walk(user_id) for user_id in IDS)
    for number, (a, b, c) in enumerate(zip(eligible, no_methods, unknown, strict=True)):
        assert a == b, f"step {number}: eligible vs. no methods"
        assert a == c, f"step {number}: eligible vs. unknown"
    assert eligible[1][0] == 302 and eligible[5][0] == 200
    assert '<h1 id="page-title">Verify it\'s you</h1>' in eligible[4][3]
    assert "That doesn't match what" in eligible[5][3].replace("&#x27;", "'")
    assert "We&#x27;ve asked your administrators to help you." in eligible[7][3]
    assert 'id="recovery-reference"' in eligible[10][3] and eligible[10][0] == 200
