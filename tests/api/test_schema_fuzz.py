"""A short schemathesis run against the OpenAPI document, in process, on live flows.

Every generated request goes to the real API (WSGI, the test database). A hook solves the
captcha for ``POST /resets`` and gives every other call the handle of a flow that is really
at that step, so the fuzzing reaches past authentication into the engine. Fails on any
5xx, a response the document doesn't describe, or a body that breaks its schema.
"""

import json
import os
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from opensspr.config.wsgi import application
from opensspr.core.request_meta import RequestMeta
from opensspr.resets.flow import choose_operation, start_flow
from opensspr.resets.models import Operation
from tests.api.conftest import solved_captcha
from tests.conftest import open_reset_policy

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
SEEN: defaultdict[str, set[int]] = defaultdict(set)
DOCUMENT = json.loads((Path(__file__).parents[2] / "opensspr/api/openapi.json").read_text())
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.app = application


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """Calls go to the WSGI app directly, not through Django's test client, so take its
    precaution: a request's end must not close the connection the test's transaction is
    on (PostgreSQL would then answer every later query with "connection closed")."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _people(db, user_factory):
    open_reset_policy()
    user_factory("jan@contoso.example", auth_email="jan@mail.example", mobile_phone="+31612345678")


def _live_handle(path: str) -> str:
    meta = RequestMeta("192.0.2.50", "schemathesis", "fuzz")
    view = start_flow(identifier="jan@contoso.example", meta=meta)
    if path != "/resets/current/operation":
        view = choose_operation(handle=view.handle, operation=Operation.RESET, meta=meta)
    return view.handle


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("OPENSSPR_FUZZ_EXAMPLES", "12")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_keeps_its_contract(case):
    if case.path == "/resets" and case.method == "POST" and isinstance(case.body, dict):
        # Assigned, not mutated: schemathesis then checks again whether the case is valid.
        case.body = {**case.body, "captcha": solved_captcha()}
    elif "Authorization" in (case.headers or {}):  # a missing header stays missing
        case.headers = {**case.headers, "Authorization": f"Flow {_live_handle(case.path)}"}
    # The contract: never a 5xx, only documented statuses, content types, headers and
    # bodies. (A stateful API refuses many schema-valid requests, e.g. a code before one
    # was sent, so "valid data is accepted" is not a check here.)
    response = case.call_and_validate(app=application, checks=CHECKS)
    SEEN[f"{case.method} {case.path}"].add(response.status_code)


def test_the_fuzzing_got_past_the_front_door():
    """The hook's live handles and solved captchas reach the engine: not only 401s."""
    for operation, statuses in SEEN.items():
        assert statuses - {401, 403}, (operation, statuses)
    assert len(SEEN) >= 7
