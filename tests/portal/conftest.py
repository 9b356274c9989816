"""Driving the reset pages as a browser would: a solved captcha, then one POST per step."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from opensspr.captcha.services import issue_challenge
from opensspr.channels import deliver_due, list_outbox
from tests.captcha.conftest import pack, payload_fields
from tests.conftest import open_reset_policy

MOBILE = "+31612345678"
OFFICE = "+31205550102"
NEW = "Lantern-Harbour-Quiet-93"


@pytest.fixture(autouse=True)
def _policy(db: Any) -> None:
    open_reset_policy()


def solved_captcha() -> str:
    return pack(payload_fields(dict(issue_challenge())))


def delivered(**filters: Any) -> Any:
    # The test's transaction never commits, so inline delivery never fires.
    deliver_due()
    return list_outbox(**filters)


def code_for(recipient: str) -> str:
    body = delivered(recipient=recipient).first().plaintext_body()
    return re.search(r"\b(\d{6,8})\b", body).group(1)


class Portal:
    """One person's browser on the reset pages."""

    def __init__(self, client: Client) -> None:
        self.client = client

    @property
    def session_key(self) -> str | None:
        cookie = self.client.cookies.get(settings.SESSION_COOKIE_NAME)
        return cookie.value if cookie else None

    def start(self, user_id: str, **extra: str) -> Any:
        data = {"user_id": user_id, "captcha": solved_captcha(), **extra}
        return self.client.post("/reset", data)

    def page(self) -> Any:
        return self.client.get("/reset/flow")

    def post(self, action: str, **data: str) -> Any:
        return self.client.post("/reset/flow", {"action": action, **data})

    def to_verify(self, user_id: str, operation: str = "reset") -> Any:
        assert self.start(user_id).status_code == 302
        if b'page-title">Why' in self.page().content:
            assert self.post("operation", operation=operation).status_code == 302
        return self.page()

    def pass_email(self, address: str) -> Any:
        response = self.post("method", method="email", contact_email=address)
        assert response.status_code == 302, response.content.decode()[-3000:]
        response = self.post("answer", code=code_for(address))
        assert response.status_code == 302, response.content.decode()[-3000:]
        return self.page()


@pytest.fixture
def portal(client: Client) -> Portal:
    return Portal(client)


@pytest.fixture
def jan(user_factory: Callable[..., Any]) -> Any:
    return user_factory(
        "jan@contoso.example",
        display_name="Jan Jansen",
        auth_email="jan@mail.example",
        mobile_phone=MOBILE,
        office_phone=OFFICE,
    )
