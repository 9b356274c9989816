"""The reset and unlock flow driven end to end through the JSON API."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opensspr.audit.models import AuditEvent
from opensspr.channels import deliver_due, list_outbox
from opensspr.methods.questions import replace_answers
from opensspr.policy.models import SsprPolicy
from opensspr.resets.flow import confirm_voice_call
from opensspr.resets.models import ResetFlow
from opensspr.signin.services import SignInOutcome, sign_in
from tests.api.conftest import (
    MOBILE,
    NEW_PASSWORD,
    ApiClient,
    delivered_code,
    solved_captcha,
)
from tests.captcha.conftest import pack, payload_fields
from tests.concurrency import needs_concurrent_writers, race
from tests.conftest import DEFAULT_PASSWORD, update_policy
from tests.resets.throttling import wait_out

pytestmark = pytest.mark.django_db
EMAIL = "jan@mail.example"


def _pass_email(api, flow, address=EMAIL):
    sent = api.post(
        "/resets/current/verification",
        {"method": "email", "contact": address},
        handle=flow.handle,
    )
    assert sent.status == 200, sent.body
    assert sent.body["challenge"]["method"] == "email"
    return api.post(
        "/resets/current/verification/answer",
        {"answer": delivered_code(address)},
        handle=sent.handle,
    )


def test_a_full_email_reset_sets_the_password(api, jan, start, meta):
    started = start(jan.user_id)
    assert started.status == 201
    assert started.headers["Location"].endswith("/api/v1/resets/current")
    assert started.body["state"] == "choose_operation" and started.body["unlock_offered"]
    flow = api.post("/resets/current/operation", {"operation": "reset"}, handle=started.handle)
    assert flow.body["state"] == "verify" and flow.body["operation"] == "reset"
    assert {o["method"] for o in flow.body["options"]} == {
        "email",
        "mobile_sms",
        "mobile_voice",
        "office_voice",
    }
    flow = _pass_email(api, flow)
    assert flow.status == 200 and flow.body["state"] == "new_password"
    done = api.post("/resets/current/password", {"new_password": NEW_PASSWORD}, handle=flow.handle)
    assert done.status == 200 and done.body["state"] == "done"
    assert sign_in(identifier=jan.user_id, password=NEW_PASSWORD, meta=meta).outcome == (
        SignInOutcome.SUCCESS
    )
    assert api.get("/resets/current", handle=done.handle).body["state"] == "done"
    assert AuditEvent.objects.filter(activity="reset.completed", target=jan).exists()


def test_reading_the_flow_keeps_the_handle_and_changes_nothing(api, jan, reset_flow):
    flow = reset_flow(jan.user_id)
    before = ResetFlow.objects.values_list("version", "handle_digest").get()
    for _ in range(2):
        read = api.get("/resets/current", handle=flow.handle)
        assert read.status == 200 and read.body == flow.body
    assert ResetFlow.objects.values_list("version", "handle_digest").get() == before


def test_every_step_kills_the_old_handle(api, jan, reset_flow):
    flow = reset_flow(jan.user_id)
    sent = api.post(
        "/resets/current/verification", {"method": "email", "contact": EMAIL}, handle=flow.handle
    )
    assert sent.handle != flow.handle
    for old in (flow.handle, "made-up-handle-0123456789abcdef"):
        dead = api.get("/resets/current", handle=old)
        assert dead.status == 401 and dead.body["code"] == "flow_not_found"
        assert dead.headers["WWW-Authenticate"].startswith("Flow")
    replay = api.post(
        "/resets/current/verification/answer",
        {"answer": delivered_code(EMAIL)},
        handle=flow.handle,
    )
    assert replay.status == 401
    assert api.get("/resets/current", handle=sent.handle).body["state"] == "verify"


def test_a_missing_expired_or_garbage_handle_gets_one_answer(api, jan, reset_flow, clock):
    flow = reset_flow(jan.user_id)
    clock.advance(minutes=16)
    answers = [
        api.get("/resets/current", handle=flow.handle),  # expired
        api.get("/resets/current", handle="x" * 43),  # never issued
        api.get("/resets/current"),  # none
        api.get("/resets/current", Authorization="Bearer " + flow.handle),
        api.get("/resets/current", Authorization="Flow " + flow.handle + " extra"),
        api.get("/resets/current", Authorization="Flow <script>"),
    ]
    assert {a.status for a in answers} == {401}
    # Identical but for the correlation id, which is each request's own.
    bodies = {
        repr(sorted((k, v) for k, v in a.body.items() if k != "correlation_id")) for a in answers
    }
    assert len(bodies) == 1


def test_steps_cannot_be_skipped(api, jan, start):
    started = start(jan.user_id)
    early = api.post(
        "/resets/current/password", {"new_password": NEW_PASSWORD}, handle=started.handle
    )
    assert early.status == 409 and early.body["code"] == "wrong_step"
    flow = api.post("/resets/current/operation", {"operation": "reset"}, handle=started.handle)
    skipped = api.post(
        "/resets/current/password", {"new_password": NEW_PASSWORD}, handle=flow.handle
    )
    assert skipped.status == 409 and skipped.body["code"] == "wrong_step"
    no_code = api.post(
        "/resets/current/verification/answer", {"answer": "12345678"}, handle=flow.handle
    )
    assert no_code.status == 422 and no_code.body["code"] == "code_expired"
    again = api.post("/resets/current/operation", {"operation": "unlock"}, handle=flow.handle)
    assert again.status == 409
    jan.refresh_from_db()
    assert jan.check_password(DEFAULT_PASSWORD)
    # Errors without a flow changed nothing: the handle still works.
    assert api.get("/resets/current", handle=flow.handle).body["state"] == "verify"


def test_wrong_codes_keep_the_handle_then_block_the_flow(api, jan, reset_flow):
    flow = reset_flow(jan.user_id)
    sent = api.post(
        "/resets/current/verification", {"method": "email", "contact": EMAIL}, handle=flow.handle
    )
    code = delivered_code(EMAIL)
    wrong = "00000000" if code != "00000000" else "11111111"
    for left, pause in ((4, None), (3, None), (2, 30), (1, 120)):
        refused = api.post(
            "/resets/current/verification/answer", {"answer": wrong}, handle=sent.handle
        )
        assert refused.status == 422 and refused.body["code"] == "invalid_code"
        assert refused.body["tries_left"] == left  # warned before the block (issue 12 item 11)
        assert refused.body.get("retry_after") == pause  # short and growing pauses
        assert "flow" not in refused.body
        if pause:
            early = api.post(
                "/resets/current/verification/answer", {"answer": code}, handle=sent.handle
            )
            # Nothing is compared during the pause, not even the right code; the flow
            # and its handle stay.
            assert early.status == 429 and early.body["code"] == "paused"
            assert early.body["retry_after"] == pause
            assert early.headers["Retry-After"] == str(pause)
            wait_out(pause)
    blocked = api.post("/resets/current/verification/answer", {"answer": wrong}, handle=sent.handle)
    assert blocked.status == 403 and blocked.body["code"] == "throttled"
    assert blocked.body["flow"]["state"] == "blocked"
    assert blocked.body["flow"]["blocked_reason"] == "throttled"
    final = blocked.handle
    assert api.get("/resets/current", handle=final).body["state"] == "blocked"
    late = api.post("/resets/current/verification/answer", {"answer": code}, handle=final)
    assert late.status == 409
    assert (
        api.post("/resets/current/verification/answer", {"answer": code}, handle=sent.handle).status
        == 401
    )


def test_a_mismatched_contact_is_refused_and_nothing_is_sent(api, jan, reset_flow):
    flow = reset_flow(jan.user_id)
    refused = api.post(
        "/resets/current/verification",
        {"method": "email", "contact": "attacker@evil.example"},
        handle=flow.handle,
    )
    assert refused.status == 422 and refused.body["code"] == "contact_mismatch"
    deliver_due()
    assert not list_outbox().exists()
    unknown = api.post(
        "/resets/current/verification", {"method": "security_questions"}, handle=flow.handle
    )
    assert unknown.status == 422 and unknown.body["code"] == "method_unavailable"


def test_try_another_method_drops_the_open_code(api, jan, reset_flow):
    flow = reset_flow(jan.user_id)
    sent = api.post(
        "/resets/current/verification", {"method": "email", "contact": EMAIL}, handle=flow.handle
    )
    code = delivered_code(EMAIL)
    back = api.post("/resets/current/verification/cancel", {}, handle=sent.handle)
    assert back.status == 200 and back.body["challenge"] is None and back.body["options"]
    stale = api.post("/resets/current/verification/answer", {"answer": code}, handle=back.handle)
    assert stale.status == 422 and stale.body["code"] == "code_expired"


def test_unknown_and_known_user_ids_get_the_same_shape(api, jan, user_factory, start):
    user_factory("nomethods@contoso.example")
    started = {
        uid: start(uid)
        for uid in (jan.user_id, "nomethods@contoso.example", "ghost@contoso.example")
    }
    shapes = set()
    for response in started.values():
        body = response.body
        shapes.add(
            (
                response.status,
                tuple(sorted(response.headers)),
                tuple(sorted(body)),
                body["state"],
                body["gates_required"],
                tuple(type(v).__name__ for _, v in sorted(body.items()) if _ != "handle"),
            )
        )
    assert len(shapes) == 1, shapes
    for uid, response in started.items():
        flow = api.post("/resets/current/operation", {"operation": "reset"}, handle=response.handle)
        assert flow.status == 200 and flow.body["options"], uid
        for option in flow.body["options"]:
            assert sorted(option) == ["label", "method", "needs_contact"]
        typed = api.post(
            "/resets/current/verification",
            {"method": "email", "contact": "someone@mail.example"},
            handle=flow.handle,
        )
        assert (typed.status, typed.body["code"]) in {
            (422, "contact_mismatch"),
            (422, "method_unavailable"),
        }, uid
        assert sorted(typed.body) == ["code", "correlation_id", "status", "title", "type"]
    deliver_due()
    assert not list_outbox().exists()


def test_a_kiosk_fetches_and_solves_the_captcha_over_http(api, jan):
    challenge = api.client.get("/captcha/challenge").json()  # outside /api/v1, as documented
    payload = pack(payload_fields(challenge))
    assert api.post("/resets", {"user_id": jan.user_id, "captcha": payload}).status == 201


def test_a_failed_captcha_starts_nothing(api, jan):
    before = ResetFlow.objects.count()
    for captcha in ("not-a-solution", "eyJ9"):
        refused = api.post("/resets", {"user_id": jan.user_id, "captcha": captcha})
        assert refused.status == 400 and refused.body["code"] == "captcha_failed"
    payload = solved_captcha()
    assert api.post("/resets", {"user_id": jan.user_id, "captcha": payload}).status == 201
    replay = api.post("/resets", {"user_id": jan.user_id, "captcha": payload})
    assert replay.status == 400 and replay.body["code"] == "captcha_failed"
    assert ResetFlow.objects.count() == before + 1  # only the solved one started a flow


def test_administrators_pass_two_distinct_gates(api, user_factory, reset_flow):
    admin = user_factory(
        "admin@contoso.example",
        auth_email="admin@mail.example",
        mobile_phone=MOBILE,
        roles=("global_admin",),
    )
    flow = reset_flow(admin.user_id)
    # Before a gate has passed the total is the policy's, the same for every ID (A1).
    assert flow.body["gates_required"] == 1 and flow.body["gate"] == 1
    flow = _pass_email(api, flow, "admin@mail.example")
    assert flow.body["state"] == "verify" and flow.body["gate"] == 2
    assert flow.body["gates_required"] == 2
    assert "email" not in {o["method"] for o in flow.body["options"]}
    again = api.post(
        "/resets/current/verification",
        {"method": "email", "contact": "admin@mail.example"},
        handle=flow.handle,
    )
    assert again.status == 422 and again.body["code"] == "method_unavailable"
    early = api.post("/resets/current/password", {"new_password": NEW_PASSWORD}, handle=flow.handle)
    assert early.status == 409
    sent = api.post(
        "/resets/current/verification",
        {"method": "mobile_sms", "contact": "+31 6 1234 5678"},
        handle=flow.handle,
    )
    assert sent.status == 200
    flow = api.post(
        "/resets/current/verification/answer",
        {"answer": delivered_code(MOBILE)},
        handle=sent.handle,
    )
    assert flow.body["state"] == "new_password"
    done = api.post("/resets/current/password", {"new_password": NEW_PASSWORD}, handle=flow.handle)
    assert done.body["state"] == "done"


def test_a_call_passes_once_it_was_answered(api, jan, reset_flow, meta):
    flow = reset_flow(jan.user_id)
    called = api.post(
        "/resets/current/verification",
        {"method": "office_voice", "contact": "+31 20 555 0102"},
        handle=flow.handle,
    )
    assert called.body["challenge"] == {
        "method": "office_voice",
        "expires_at": called.body["challenge"]["expires_at"],
        "call_answered": False,
        "questions": [],
        "sent_to": "+31 2 •••• 0102",
    }
    early = api.post("/resets/current/verification/answer", {"answer": ""}, handle=called.handle)
    assert early.status == 422 and early.body["code"] == "call_not_answered"
    deliver_due()
    token = list_outbox(recipient="+31205550102").first().plaintext_voice_token()
    assert confirm_voice_call(token=token, digits="#", meta=meta)
    assert api.get("/resets/current", handle=called.handle).body["challenge"]["call_answered"]
    passed = api.post("/resets/current/verification/answer", {"answer": ""}, handle=called.handle)
    assert passed.body["state"] == "new_password"


def test_unlock_ends_the_lockout_without_a_new_password(api, jan, start, meta):
    for i in range(10):
        sign_in(identifier=jan.user_id, password=f"Wrong-{i}", meta=meta)
    started = start(jan.user_id)
    flow = api.post("/resets/current/operation", {"operation": "unlock"}, handle=started.handle)
    assert flow.body["operation"] == "unlock"
    done = _pass_email(api, flow)
    assert done.body["state"] == "done"
    assert sign_in(identifier=jan.user_id, password=DEFAULT_PASSWORD, meta=meta).outcome == (
        SignInOutcome.SUCCESS
    )


def test_a_rejected_password_answers_every_failed_rule_and_a_new_handle(api, jan, reset_flow):
    flow = _pass_email(api, reset_flow(jan.user_id))
    rejected = api.post("/resets/current/password", {"new_password": "short"}, handle=flow.handle)
    assert rejected.status == 422 and rejected.body["code"] == "password_rejected"
    assert "too_short" in {f["code"] for f in rejected.body["failures"]}
    assert rejected.body["flow"]["state"] == "new_password"
    assert api.get("/resets/current", handle=flow.handle).status == 401
    done = api.post(
        "/resets/current/password", {"new_password": NEW_PASSWORD}, handle=rejected.handle
    )
    assert done.body["state"] == "done"


def test_labels_and_titles_follow_accept_language(api, jan, start):
    started = start(jan.user_id, **{"Accept-Language": "nl"})
    flow = api.post(
        "/resets/current/operation",
        {"operation": "reset"},
        handle=started.handle,
        **{"Accept-Language": "nl"},
    )
    labels = {o["method"]: o["label"] for o in flow.body["options"]}
    assert labels["mobile_sms"] != "Text my mobile phone"
    assert flow.headers["Content-Language"] == "nl"
    english = api.get("/resets/current", handle=flow.handle, **{"Accept-Language": "en"})
    assert {o["label"] for o in english.body["options"]} >= {"Text my mobile phone"}


def test_without_unlock_the_flow_starts_at_the_first_gate(api, jan, start):
    update_policy(unlock_without_reset=False)
    started = start(jan.user_id)
    assert started.body["state"] == "verify" and started.body["operation"] == "reset"
    refused = api.post("/resets/current/operation", {"operation": "unlock"}, handle=started.handle)
    assert refused.status == 409 and refused.body["code"] == "wrong_step"


def test_reading_a_flow_takes_a_bounded_number_of_queries(api, jan, reset_flow):
    flow = reset_flow(jan.user_id)
    with CaptureQueriesContext(connection) as queries:
        api.get("/resets/current", handle=flow.handle)
    assert len(queries) <= 8, [q["sql"] for q in queries]


@pytest.mark.django_db(transaction=True)
def test_parallel_answers_with_one_handle_pass_exactly_once(document, user_factory):
    needs_concurrent_writers()
    SsprPolicy.objects.update_or_create(
        pk=1, defaults={"scope": "all", "allow_email": True, "unlock_without_reset": False}
    )
    person = user_factory(auth_email="race@mail.example")
    api = ApiClient(document)
    started = api.post("/resets", {"user_id": person.user_id, "captcha": solved_captcha()})
    sent = api.post(
        "/resets/current/verification",
        {"method": "email", "contact": "race@mail.example"},
        handle=started.handle,
    )
    code = delivered_code("race@mail.example")

    def submit():
        own = ApiClient(document)
        return own.post(
            "/resets/current/verification/answer", {"answer": code}, handle=sent.handle
        ).status

    statuses = race(*[submit] * 8)
    # One wins; the others find a dead handle, a used code, or lose the race (401/422/409),
    # or meet the short pause their reserved failures set before any was compared (429:
    # every answer counts as wrong until it is found right, attack A2).
    assert statuses.count(200) == 1 and set(statuses) <= {200, 401, 409, 422, 429}, statuses


def test_security_questions_are_answered_as_an_object_by_question_key(api, jan, reset_flow):
    answers = {f"predefined:{n}": f"Canary-Answer-{n}" for n in (2, 4, 12, 29, 30)}
    replace_answers(jan, answers)
    update_policy(methods_required=2, allow_security_questions=True)
    gate_2 = _pass_email(api, reset_flow(jan.user_id))
    assert "security_questions" in [o["method"] for o in gate_2.body["options"]]
    asked = api.post(
        "/resets/current/verification", {"method": "security_questions"}, handle=gate_2.handle
    )
    questions = asked.body["challenge"]["questions"]
    assert len(questions) == 3 and all(q["text"] for q in questions)
    both = api.post(
        "/resets/current/verification/answer",
        {"answer": "123456", "answers": {}},
        handle=asked.handle,
    )
    assert both.status == 400 and both.body["code"] == "invalid_request"
    wrong = {q["key"]: "Canary-Wrong" for q in questions}
    refused = api.post(
        "/resets/current/verification/answer", {"answers": wrong}, handle=asked.handle
    )
    assert refused.status == 422 and refused.body["code"] == "invalid_answers"
    right = {q["key"]: answers[q["key"]].lower() for q in questions}
    passed = api.post(
        "/resets/current/verification/answer", {"answers": right}, handle=asked.handle
    )
    assert passed.status == 200 and passed.body["state"] == "new_password"


def test_answers_must_be_a_small_object_of_short_strings(api, jan, reset_flow):
    flow = reset_flow(jan.user_id)
    for bad in ([], {"k": 1}, {f"k{n}": "x" for n in range(11)}, {"k" * 40: "x"}):
        refused = api.post(
            "/resets/current/verification/answer", {"answers": bad}, handle=flow.handle
        )
        assert refused.status == 400 and refused.body["code"] == "invalid_request", bad
