"""An API client that holds every response to the OpenAPI document, and flow helpers.

Every response is checked, whatever the test asserts: the status must be
documented for that path and method (or be the 405 of an undocumented method),
the content type must be the documented one, the body must validate against the
documented schema (``$ref``s resolved in the document itself), a problem's
``status`` and ``type`` must match, and no response may be cacheable or set a
cookie. A mismatch fails the test.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from opensspr.api.problems import TYPE_BASE
from opensspr.api.schema import DOCUMENT_PATH
from opensspr.captcha.services import issue_challenge
from opensspr.channels import deliver_due, list_outbox
from tests.captcha.conftest import pack, payload_fields
from tests.conftest import open_reset_policy

PREFIX = "/api/v1"
DOCUMENT_URI = "urn:opensspr:openapi"
MOBILE = "+31612345678"
NEW_PASSWORD = "Lantern-Harbour-Quiet-93"


def load_document() -> dict[str, Any]:
    return json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))


def _pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass
class ApiResponse:
    status: int
    headers: Any
    body: Any
    raw: Any = field(repr=False)

    @property
    def handle(self) -> str:
        flow = self.body.get("flow", self.body) if self.status >= 400 else self.body
        return flow["handle"]


class ApiClient:
    """Speaks to ``/api/v1`` through Django's test client and validates every answer."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        # CSRF checks on, as in production: the API must work without any token.
        self.client = Client(enforce_csrf_checks=True)
        self.registry = Registry().with_resource(
            DOCUMENT_URI, Resource(contents=document, specification=DRAFT202012)
        )
        self.responses: list[ApiResponse] = []

    # --- requests ---------------------------------------------------------------

    def get(self, path: str, *, handle: str | None = None, **headers: str) -> ApiResponse:
        return self.request("GET", path, handle=handle, **headers)

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        handle: str | None = None,
        raw: bytes | str | None = None,
        content_type: str = "application/json",
        **headers: str,
    ) -> ApiResponse:
        data = raw if raw is not None else json.dumps({} if body is None else body)
        return self.request(
            "POST", path, handle=handle, data=data, content_type=content_type, **headers
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        handle: str | None = None,
        data: bytes | str | None = None,
        content_type: str | None = None,
        **headers: str,
    ) -> ApiResponse:
        if handle is not None:
            headers["Authorization"] = f"Flow {handle}"
        kwargs: dict[str, Any] = {"headers": headers}
        if data is not None:
            kwargs["data"] = data
            kwargs["content_type"] = content_type
        raw = self.client.generic(method, PREFIX + path, **kwargs)
        response = self._check(method, path.split("?", 1)[0], raw)
        self.responses.append(response)
        return response

    # --- the contract -------------------------------------------------------------

    def _check(self, method: str, path: str, raw: Any) -> ApiResponse:
        content_type = raw.headers.get("Content-Type", "").split(";")[0].strip()
        body = json.loads(raw.content) if raw.content else None
        where = f"{method} {path} -> {raw.status_code}"
        assert "no-store" in raw.headers.get("Cache-Control", ""), where
        assert not raw.cookies, f"{where} set cookies {list(raw.cookies)}"
        session = getattr(raw.wsgi_request, "session", None)
        assert session is None or not session.modified, f"{where} wrote the session"
        path_item = self.document["paths"].get(path)
        assert path_item is not None, f"{where}: path not in the OpenAPI document"
        operation = path_item.get(method.lower())
        if operation is None:
            assert raw.status_code == 405, f"{where}: undocumented method not refused"
            assert set(raw.headers["Allow"].split(", ")) == {m.upper() for m in path_item}
            if method != "HEAD":  # a HEAD answer carries no body
                self._validate(body, "components", "schemas", "Problem", where=where)
                assert body["code"] == "method_not_allowed", where
        else:
            documented = operation["responses"].get(str(raw.status_code))
            assert documented is not None, f"{where}: status not documented; body {body}"
            (media,) = documented["content"]
            assert content_type == media, f"{where}: {content_type} instead of {media}"
            self._validate(
                body,
                "paths",
                path,
                method.lower(),
                "responses",
                str(raw.status_code),
                "content",
                media,
                "schema",
                where=where,
            )
        if raw.status_code >= 400 and method != "HEAD":
            assert body["status"] == raw.status_code, where
            assert body["type"] == TYPE_BASE + body["code"], where
        return ApiResponse(raw.status_code, raw.headers, body, raw)

    def _validate(self, body: Any, *parts: str, where: str) -> None:
        schema = {"$ref": DOCUMENT_URI + "#" + _pointer(*parts)}
        validator = Draft202012Validator(
            schema, registry=self.registry, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        assert not errors, f"{where}: the body breaks the document: {errors[0].message}; {body}"


@pytest.fixture(autouse=True)
def _api_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.api.urls"


@pytest.fixture(autouse=True)
def _policy(db: Any) -> None:
    open_reset_policy()


@pytest.fixture
def document() -> dict[str, Any]:
    return load_document()


@pytest.fixture
def api(document: dict[str, Any]) -> ApiClient:
    return ApiClient(document)


def solved_captcha() -> str:
    """A fresh challenge from ``issue_challenge``, solved as the widget would."""
    return pack(payload_fields(dict(issue_challenge())))


def delivered_code(recipient: str) -> str:
    # The test's transaction never commits, so inline delivery never fires: deliver as the
    # background worker does in production.
    deliver_due()
    body = list_outbox(recipient=recipient).first().plaintext_body()
    return re.search(r"\b(\d{6,8})\b", body).group(1)


@pytest.fixture
def jan(user_factory: Callable[..., Any]) -> Any:
    return user_factory(
        "jan@contoso.example",
        auth_email="jan@mail.example",
        mobile_phone=MOBILE,
        office_phone="+31205550102",
    )


@pytest.fixture
def start(api: ApiClient) -> Callable[..., ApiResponse]:
    """Start a flow for ``user_id`` through the API, captcha solved."""

    def run(user_id: str, **headers: str) -> ApiResponse:
        return api.post("/resets", {"user_id": user_id, "captcha": solved_captcha()}, **headers)

    return run


@pytest.fixture
def reset_flow(api: ApiClient, start: Callable[..., ApiResponse]) -> Callable[..., ApiResponse]:
    """A flow at its first gate, operation "reset" chosen."""

    def run(user_id: str) -> ApiResponse:
        started = start(user_id)
        assert started.status == 201, started.body
        chosen = api.post(
            "/resets/current/operation", {"operation": "reset"}, handle=started.handle
        )
        assert chosen.status == 200, chosen.body
        return chosen

    return run
