"""The reset resource: start a flow, read it, and take each of its steps.

``POST /resets`` opens a flow (after the captcha) and every later call names it by
its handle in ``Authorization: Flow <handle>``. Each step answers the flow with a
NEW handle: the engine replaced the old one, which is dead from then on (attacks
A8, A16). The engine decides everything; these views parse, call, render.
"""

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import reverse

from opensspr.api.bodies import Body, Field, StringMap
from opensspr.api.endpoints import endpoint
from opensspr.api.problems import ApiProblem
from opensspr.api.representations import flow_json
from opensspr.captcha.protocol import MAX_PAYLOAD_CHARS
from opensspr.captcha.services import verify_captcha
from opensspr.core.request_meta import request_meta
from opensspr.policy.kinds import MethodKind
from opensspr.resets.flow import (
    FlowView,
    begin_verification,
    change_method,
    choose_operation,
    get_flow,
    set_new_password,
    start_flow,
    submit_verification,
)
from opensspr.resets.models import Operation

START = Body(
    "StartRequest",
    (
        Field("user_id", 256, min_length=1, description="The user ID as the person typed it."),
        Field(
            "captcha",
            MAX_PAYLOAD_CHARS,
            min_length=1,
            description="A solved challenge from GET /captcha/challenge (ALTCHA v1 payload).",
        ),
    ),
)
OPERATION = Body("OperationRequest", (Field("operation", 16, choices=tuple(Operation.values)),))
VERIFICATION = Body(
    "VerificationRequest",
    (
        Field("method", 32, choices=tuple(k.value for k in MethodKind)),
        Field(
            "contact",
            320,
            required=False,
            description="The full email address or phone number, for options that need it.",
        ),
    ),
)
ANSWER = Body(
    "AnswerRequest",
    (
        Field(
            "answer",
            64,
            required=False,
            description="The code; an empty string once a call was answered.",
        ),
        StringMap(
            "answers",
            max_items=10,
            key_length=32,
            value=Field("answer", 128),
            required=False,
            description="Security questions: the answer to each question of the challenge, "
            "by its key. Send either `answer` or `answers`.",
        ),
    ),
    one_of=("answer", "answers"),
)
CANCEL = Body("CancelRequest")
PASSWORD = Body(
    "PasswordRequest",
    (Field("new_password", 1024, min_length=1, allow_controls=True),),
)


def _flow(view: FlowView, status: int = 200) -> JsonResponse:
    return JsonResponse(flow_json(view), status=status)


@endpoint(
    method="POST",
    operation_id="startReset",
    summary="Start a reset or unlock for a user ID",
    success=201,
    body=START,
    codes=("captcha_failed",),
    description=(
        "Every user ID gets a flow of the same shape, whether or not it exists or may "
        "reset. The flow may start in state `blocked` (throttled, or self-service off)."
    ),
)
def start(request: HttpRequest, *, data: dict[str, str]) -> JsonResponse:
    if not verify_captcha(data["captcha"]):
        raise ApiProblem("captcha_failed")
    response = _flow(start_flow(identifier=data["user_id"], meta=request_meta(request)), 201)
    response["Location"] = request.build_absolute_uri(reverse("api:reset"))
    return response


@endpoint(
    method="GET",
    operation_id="getReset",
    summary="The current state of the flow (the handle stays the same)",
    needs_handle=True,
)
def current(request: HttpRequest, *, handle: str) -> JsonResponse:
    return _flow(get_flow(handle=handle))


@endpoint(
    method="POST",
    operation_id="chooseOperation",
    summary="Choose between resetting the password and unlocking the account",
    body=OPERATION,
    needs_handle=True,
    codes=("wrong_step", "flow_conflict", "operation_unavailable"),
)
def operation(request: HttpRequest, *, handle: str, data: dict[str, str]) -> JsonResponse:
    view = choose_operation(
        handle=handle, operation=Operation(data["operation"]), meta=request_meta(request)
    )
    return _flow(view)


@endpoint(
    method="POST",
    operation_id="beginVerification",
    summary="Start a verification gate: send a code or place a call",
    body=VERIFICATION,
    needs_handle=True,
    codes=(
        "wrong_step",
        "flow_conflict",
        "method_unavailable",
        "contact_mismatch",
        "throttled",
        "method_paused",
        "paused",
        "send_held",
    ),
)
def verification(request: HttpRequest, *, handle: str, data: dict[str, str]) -> JsonResponse:
    view = begin_verification(
        handle=handle,
        kind=MethodKind(data["method"]),
        contact=data.get("contact", ""),
        meta=request_meta(request),
    )
    return _flow(view)


@endpoint(
    method="POST",
    operation_id="answerVerification",
    summary="Answer the open challenge (for a call: an empty answer once it was confirmed)",
    body=ANSWER,
    needs_handle=True,
    codes=(
        "wrong_step",
        "flow_conflict",
        "invalid_code",
        "invalid_answers",
        "code_dead",
        "code_expired",
        "call_not_answered",
        "throttled",
        "paused",
    ),
)
def answer(request: HttpRequest, *, handle: str, data: dict[str, Any]) -> JsonResponse:
    given = data["answers"] if "answers" in data else data["answer"]
    return _flow(submit_verification(handle=handle, answer=given, meta=request_meta(request)))


@endpoint(
    method="POST",
    operation_id="cancelVerification",
    summary="Drop the open challenge and choose another method",
    body=CANCEL,
    needs_handle=True,
    codes=("wrong_step", "flow_conflict"),
)
def cancel(request: HttpRequest, *, handle: str, data: dict[str, str]) -> JsonResponse:
    return _flow(change_method(handle=handle, meta=request_meta(request)))


@endpoint(
    method="POST",
    operation_id="setPassword",
    summary="Set the new password once every gate was passed",
    body=PASSWORD,
    needs_handle=True,
    codes=("wrong_step", "flow_conflict", "password_rejected"),
)
def password(request: HttpRequest, *, handle: str, data: dict[str, str]) -> JsonResponse:
    view = set_new_password(
        handle=handle, new_password=data["new_password"], meta=request_meta(request)
    )
    return _flow(view)
