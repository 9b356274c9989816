"""Strict input (attacks A19, A20; ASVS 15.3.3, 15.3.7): only an endpoint's own string
fields, as a small JSON object, or a 400/413/415 and no change anywhere."""

import json

import pytest

from opensspr.api.bodies import MAX_BODY_BYTES
from opensspr.audit.models import AuditEvent
from opensspr.captcha.models import UsedChallenge
from opensspr.channels.models import Message
from opensspr.resets.models import Challenge, ResetFlow
from tests.api.conftest import NEW_PASSWORD, delivered_code, solved_captcha
from tests.throttles.stored import count_uses

pytestmark = pytest.mark.django_db
EMAIL = "jan@mail.example"


def _snapshot():
    """Everything a request could change: flows, challenges, audit, outbox, captcha, throttles."""
    return (
        list(
            ResetFlow.objects.order_by("pk").values_list(
                "pk", "version", "state", "handle_digest", "gates_passed", "operation"
            )
        ),
        list(Challenge.objects.order_by("pk").values_list("pk", "tries", "consumed_at")),
        AuditEvent.objects.count(),
        Message.objects.count(),
        UsedChallenge.objects.count(),
        count_uses(),
    )


# Shapes that must never be accepted where a string field is expected.
NOT_STRINGS = [None, 1, 1.5, True, [], ["jan@contoso.example"], {}, {"$ne": ""}]
# Fields a client might hope the server trusts (A16, A19, A20).
SMUGGLED = {
    "verified": True,
    "gates_passed": 2,
    "user_dn": "cn=admin,dc=contoso,dc=example",
    "phone": "+15555550100",
    "email": "attacker@evil.example",
    "to": "attacker@evil.example",
    "cc": "attacker@evil.example",
    "state": "new_password",
    "handle": "x" * 43,
    "user_id": "someone-else@contoso.example",
}


def _object(*pairs):
    """JSON object text from (key, raw JSON value) pairs; keys may repeat."""
    return "{" + ", ".join(f"{json.dumps(key)}: {value}" for key, value in pairs) + "}"


def _start_bodies(user_id, captcha):
    good = {"user_id": user_id, "captcha": captcha}
    bodies = [{**good, key: value} for key, value in SMUGGLED.items() if key != "user_id"]
    bodies += [{**good, "user_id": bad} for bad in NOT_STRINGS]
    bodies += [{**good, "captcha": bad} for bad in NOT_STRINGS]
    bodies += [
        {"user_id": user_id},
        {"captcha": captcha},
        {},
        [good],
        "jan@contoso.example",
        None,
        42,
        {**good, "user_id": ""},
        {**good, "user_id": "j" * 257},
        {**good, "user_id": "jan\x00@contoso.example"},
        {**good, "user_id": "jan\r\n@contoso.example"},
        {**good, "captcha": "c" * 4097},
    ]
    uid, cap = json.dumps(user_id), json.dumps(captcha)
    return [json.dumps(b) for b in bodies] + [
        # Duplicate keys: the second value must not silently win (or lose).
        _object(("user_id", '"ghost@contoso.example"'), ("user_id", uid), ("captcha", cap)),
        _object(("user_id", uid), ("captcha", cap), ("captcha", cap)),
        _object(("user_id", "NaN"), ("captcha", cap)),
        _object(("user_id", "1e400"), ("captcha", cap)),
        _object(("user_id", '"\\ud800"'), ("captcha", cap)),
        _object(("user_id", uid), ("captcha", cap))[:-1],  # truncated
        "\ufeff" + json.dumps(good),
        "[" * 5000 + "]" * 5000,
        " ",
    ]


def test_start_refuses_every_malformed_body_and_redeems_no_captcha(api, jan):
    captcha = solved_captcha()
    before = _snapshot()
    for raw in _start_bodies(jan.user_id, captcha):
        refused = api.post("/resets", raw=raw)
        assert refused.status == 400, raw
        assert refused.body["code"] == "invalid_request", raw
        assert refused.body["detail"], raw
    assert _snapshot() == before
    # The same captcha still works: nothing above got as far as redeeming it.
    assert api.post("/resets", {"user_id": jan.user_id, "captcha": captcha}).status == 201


def test_a_clear_message_names_the_offending_field(api, jan):
    captcha = solved_captcha()
    unknown = api.post("/resets", {"user_id": jan.user_id, "captcha": captcha, "verified": True})
    assert unknown.body["field"] == "verified"
    assert "verified" in unknown.body["detail"]
    typed = api.post("/resets", {"user_id": ["a", "b"], "captcha": captcha})
    assert typed.body["field"] == "user_id" and "string" in typed.body["detail"]
    duplicate = api.post(
        "/resets",
        raw=_object(("user_id", '"a"'), ("user_id", '"b"'), ("captcha", json.dumps(captcha))),
    )
    assert duplicate.body["field"] == "user_id" and "more than once" in duplicate.body["detail"]
    long = api.post("/resets", {"user_id": "u" * 300, "captcha": captcha})
    assert "256" in long.body["detail"]


STEP_CORPUS = {
    "/resets/current/operation": [
        {"operation": "reset", "verified": True},
        {"operation": "reset", "gates_passed": 2},
        {"operation": "reset", "state": "new_password"},
        {"operation": ["reset"]},
        {"operation": None},
        {"operation": "RESET"},
        {"operation": "skip"},
        {},
    ],
    "/resets/current/verification": [
        {"method": "email", "contact": EMAIL, "phone": "+15555550100"},
        {"method": "email", "contact": EMAIL, "to": "attacker@evil.example"},
        {"method": "email", "contact": [EMAIL, "attacker@evil.example"]},
        {"method": "email", "contact": {"address": EMAIL}},
        {"method": "email", "contact": None},
        {"method": ["email"], "contact": EMAIL},
        {"method": "sms", "contact": EMAIL},
        {"method": "email", "contact": "a" * 321},
        {"contact": EMAIL},
    ],
    "/resets/current/verification/answer": [
        {"answer": "12345678", "verified": True},
        {"answer": "12345678", "gates_passed": 2},
        {"answer": 12345678},
        {"answer": ["12345678", "87654321"]},
        {"answer": None},
        {"answer": "1" * 65},
        {"answer": "1234\x005678"},
        {},
    ],
    "/resets/current/verification/cancel": [
        {"verified": True},
        {"gates_passed": 2},
        [],
        None,
    ],
    "/resets/current/password": [
        {"new_password": NEW_PASSWORD, "user_dn": "cn=admin,dc=contoso,dc=example"},
        {"new_password": NEW_PASSWORD, "user_id": "someone-else@contoso.example"},
        {"new_password": NEW_PASSWORD, "verified": True},
        {"new_password": [NEW_PASSWORD]},
        {"new_password": None},
        {"new_password": ""},
        {"new_password": "p" * 1025},
        {"new_password": "Lantern\x00Harbour-93"},
        {},
    ],
}


@pytest.mark.parametrize("path", STEP_CORPUS)
def test_steps_refuse_smuggled_fields_and_wrong_types_without_any_change(
    api, jan, reset_flow, path
):
    flow = reset_flow(jan.user_id)
    sent = api.post(
        "/resets/current/verification", {"method": "email", "contact": EMAIL}, handle=flow.handle
    )
    code = delivered_code(EMAIL)
    before = _snapshot()
    for body in STEP_CORPUS[path]:
        refused = api.post(path, raw=json.dumps(body), handle=sent.handle)
        assert refused.status == 400, body
        assert refused.body["code"] == "invalid_request" and "flow" not in refused.body, body
    duplicate = api.post(
        "/resets/current/verification/answer",
        raw=_object(("answer", json.dumps(code)), ("answer", json.dumps(code))),
        handle=sent.handle,
    )
    assert duplicate.status == 400
    assert _snapshot() == before
    # The flow is exactly where it was: the handle works and the right code passes.
    passed = api.post("/resets/current/verification/answer", {"answer": code}, handle=sent.handle)
    assert passed.body["state"] == "new_password"


def test_an_oversize_body_is_refused_before_it_is_parsed(api, jan):
    captcha = solved_captcha()
    padded = json.dumps({"user_id": jan.user_id, "captcha": captcha, "pad": ""})
    big = padded.replace('"pad": ""', '"pad": "%s"' % ("x" * (MAX_BODY_BYTES - len(padded) + 1)))
    assert len(big.encode()) == MAX_BODY_BYTES + 1
    before = _snapshot()
    refused = api.post("/resets", raw=big)
    assert refused.status == 413 and refused.body["code"] == "body_too_large"
    at_limit = big.replace('x"', '"', 1)
    assert api.post("/resets", raw=at_limit).status == 400  # parsed: "pad" is unknown
    huge = api.post("/resets", raw="x" * (2 * 1024 * 1024))
    assert huge.status == 413
    assert _snapshot() == before


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/json; charset=latin-1",
        "application/jsonx",
        "text/json",
    ],
)
def test_a_body_that_is_not_json_is_refused(api, jan, content_type):
    captcha = solved_captcha()
    body = json.dumps({"user_id": jan.user_id, "captcha": captcha})
    if content_type.startswith("application/x-www"):
        body = f"user_id={jan.user_id}&captcha={captcha}"
    refused = api.post("/resets", raw=body, content_type=content_type)
    assert refused.status == 415 and refused.body["code"] == "unsupported_media_type"
    assert not ResetFlow.objects.exists()


def test_the_charset_parameter_may_name_utf_8(api, jan):
    body = json.dumps({"user_id": jan.user_id, "captcha": solved_captcha()})
    started = api.post("/resets", raw=body, content_type="application/json; charset=UTF-8")
    assert started.status == 201


def test_invalid_utf_8_is_refused(api):
    refused = api.post("/resets", raw=b'{"user_id": "\xff\xfe", "captcha": "x"}')
    assert refused.status == 400


def test_query_parameters_are_refused_even_beside_a_valid_body(api, jan):
    captcha = solved_captcha()
    polluted = api.post(
        "/resets?user_id=ghost@contoso.example", {"user_id": jan.user_id, "captcha": captcha}
    )
    assert polluted.status == 400 and "query" in polluted.body["detail"]
    flow = api.post("/resets", {"user_id": jan.user_id, "captcha": captcha})
    read = api.get("/resets/current?handle=" + flow.handle, handle=flow.handle)
    assert read.status == 400
    assert ResetFlow.objects.count() == 1


MUTATING = [
    "/resets",
    "/resets/current/operation",
    "/resets/current/verification",
    "/resets/current/verification/answer",
    "/resets/current/verification/cancel",
    "/resets/current/password",
]


@pytest.mark.parametrize("path", MUTATING)
def test_get_on_a_mutating_endpoint_is_405(api, jan, reset_flow, path):
    flow = reset_flow(jan.user_id)
    before = _snapshot()
    refused = api.get(path, handle=flow.handle)
    assert refused.status == 405 and refused.headers["Allow"] == "POST"
    assert _snapshot() == before


def test_the_handle_is_never_taken_from_a_cookie_or_the_body(api, jan, reset_flow):
    flow = reset_flow(jan.user_id)
    api.client.cookies["handle"] = flow.handle
    api.client.cookies["sessionid"] = flow.handle
    assert api.get("/resets/current").status == 401
    refused = api.post("/resets/current/verification/cancel", {"handle": flow.handle})
    assert refused.status == 401  # the header is checked first; the body would be a 400 too


def test_a_language_override_in_the_query_sets_no_cookie(api):
    refused = api.get("/openapi.json?mkt=nl")  # the client fails on any Set-Cookie
    assert refused.status == 400
