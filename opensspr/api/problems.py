"""Problem objects (RFC 9457 style): every error the API answers, by stable code.

A problem is ``{"type", "code", "title", "status", "correlation_id"}`` (the request's
``X-Request-ID``, for the helpdesk) plus, where it helps, a
``detail`` naming what was wrong, the ``field`` concerned, the password rule
``failures`` and the ``flow`` to continue with (its handle replaces the client's).
The title is what a person may be shown, in the request's language; where the portal
says the same thing (``portal/reset_messages.py``) the wording is the same, so it is
translated once.

An expired handle gets exactly the answer a made-up one gets, so a client learns
nothing from guessing; and no problem ever says whether a user ID exists.
"""

import logging
from typing import Any

from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from opensspr.core.middleware import correlation_id_var
from opensspr.core.outages import is_outage
from opensspr.directory.messages import message_for as directory_message

logger = logging.getLogger(__name__)

TYPE_BASE = "https://opensspr.invalid/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"

# code -> (HTTP status, title)
PROBLEMS: dict[str, tuple[int, Promise]] = {
    "invalid_request": (400, _("The request is not valid.")),
    "captcha_failed": (
        400,
        _("The captcha could not be verified. Solve a new one and try again."),
    ),
    "flow_not_found": (
        401,
        _("This reset has ended or expired. Start again with your user ID."),
    ),
    "throttled": (
        403,
        _(
            "There have been too many attempts for this account. Self-service reset is "
            "blocked for it for 24 hours."
        ),
    ),
    "method_not_allowed": (405, _("This HTTP method is not allowed here.")),
    "wrong_step": (409, _("This step isn't available at this point of the reset.")),
    "flow_conflict": (
        409,
        _("The reset moved on in another request. Get its current state and continue."),
    ),
    "send_held": (
        429,
        _(
            "We've just sent a code or placed a call to this address or number. To keep "
            "inboxes and phones from being flooded, we send at most one a minute and 3 in 15 "
            "minutes to each. Wait a few minutes, then try again, or choose another way."
        ),
    ),
    "body_too_large": (413, _("The request body is too large.")),
    "unsupported_media_type": (
        415,
        _("The request body must be JSON (Content-Type: application/json)."),
    ),
    "contact_mismatch": (
        422,
        _("That doesn't match what's registered for your account. Check it and try again."),
    ),
    "invalid_code": (422, _("That code isn't right. Check it and try again.")),
    "invalid_answers": (
        422,
        _("At least one answer isn't right. Check your answers and try again."),
    ),
    "code_dead": (422, _("This code can't be used any more. Ask for a new one.")),
    "code_expired": (422, _("That code has expired. Choose how to get a new one.")),
    "call_not_answered": (
        422,
        _("The call hasn't been confirmed yet. Answer it, press the pound key (#), then continue."),
    ),
    "method_unavailable": (422, _("That way to verify isn't available. Choose another one.")),
    "operation_unavailable": (422, _("That choice isn't available. Choose another one.")),
    "password_rejected": (422, _("This password can't be used. Choose a different one.")),
    "step_failed": (422, _("Something went wrong. Try again.")),
    "paused": (
        429,
        _(
            "There have been several wrong codes or answers in a row for this account, so "
            "this way to verify is paused for a short while."
        ),
    ),
    "method_paused": (
        429,
        _(
            "There have been too many wrong codes or answers this way for this account, so it "
            "is blocked for up to 24 hours. Choose another way to verify."
        ),
    ),
    "send_limit": (
        429,
        _(
            "We can't send another code this way for this account right now. Choose another "
            "way to verify, or try again in an hour."
        ),
    ),
    "phone_budget": (
        429,
        _(
            "We can't send texts or place calls right now: too many have gone out in the last "
            "hour. Choose another way to verify, such as email, or try again later."
        ),
    ),
    "try_later": (
        429,
        _("There have been too many attempts from your network. Wait a while, then try again."),
    ),
    "directory_configuration": (
        503,
        _(
            "We can't reset your password right now because of a problem with your "
            "organisation's password reset set-up. Contact your administrator."
        ),
    ),
    "server_error": (
        500,
        _(
            "Something went wrong on our side. Nothing was changed; please try again in a "
            "few minutes, and give your helpdesk the correlation_id if it happens again."
        ),
    ),
    "service_unavailable": (
        503,
        _(
            "A service we depend on isn't answering. Nothing was changed; please try again "
            "in a few minutes."
        ),
    ),
    "directory_unavailable": (
        503,
        _(
            "We can't reach your organisation's directory right now. Nothing was changed; "
            "please try again in a few minutes."
        ),
    ),
}

# Engine codes the API answers as another code (one answer for every dead handle).
ALIASES = {"flow_expired": "flow_not_found"}


class ApiProblem(Exception):
    """Raised by the API layer; rendered by :func:`problem_response`."""

    def __init__(
        self,
        code: str,
        detail: str | Promise | None = None,
        *,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail
        self.field = field
        self.extra = extra or {}
        self.headers = headers or {}

    @property
    def status(self) -> int:
        return PROBLEMS[self.code][0]


def from_engine_code(code: str, **kwargs: Any) -> ApiProblem:
    """The problem for an engine ``FlowError`` code; an unmapped one is logged."""
    code = ALIASES.get(code, code)
    if code.startswith("directory:"):  # the directory or its set-up stops this person
        kwargs.setdefault("detail", directory_message(code.removeprefix("directory:")))
        code = "directory_configuration"
    if code not in PROBLEMS:
        logger.warning("flow error code %s has no API problem; answering step_failed", code)
        code = "step_failed"
    if code == "flow_not_found":
        kwargs.setdefault("headers", {})["WWW-Authenticate"] = 'Flow realm="opensspr"'
    return ApiProblem(code, **kwargs)


def problem_response(problem: ApiProblem) -> JsonResponse:
    status, title = PROBLEMS[problem.code]
    body: dict[str, Any] = {
        "type": TYPE_BASE + problem.code,
        "code": problem.code,
        "title": str(title),
        "status": status,
        "correlation_id": correlation_id_var.get(),
    }
    if problem.detail is not None:
        body["detail"] = str(problem.detail)
    if problem.field is not None:
        body["field"] = problem.field
    body.update(problem.extra)
    response = JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in problem.headers.items():
        response[name] = value
    return response


def failure_response(exc: BaseException | None) -> JsonResponse:
    """The answer to an exception nothing else handled: 503 for an outage, else 500.

    Says nothing about the exception: its class and text stay in the server log.
    """
    problem = ApiProblem("service_unavailable" if is_outage(exc) else "server_error")
    response = problem_response(problem)
    add_never_cache_headers(response)
    return response
