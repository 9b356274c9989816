"""The JSON shapes the API answers with: a flow, and the rules a password failed.

A flow is rendered from the engine's :class:`FlowView` only, so the API shows
exactly what the portal shows: for a decoy (an unknown or ineligible user ID)
that is a plausible flow of the same shape, never a hint that it is one.
"""

from datetime import UTC, datetime
from typing import Any, TypedDict

from django.utils.translation import gettext_lazy as _

from opensspr.directory.errors import REJECTION_CODES
from opensspr.directory.messages import message_for as directory_message
from opensspr.resets.flow import FlowView, PasswordRejectedError

DIRECTORY_REJECTED = _(
    "Your organisation's directory did not accept this password (it may be too short, "
    "used before, or not complex enough). Choose a different password."
)


class OptionJson(TypedDict):
    method: str
    label: str
    needs_contact: bool


class QuestionJson(TypedDict):
    key: str
    text: str


class ChallengeJson(TypedDict):
    method: str
    expires_at: str
    call_answered: bool
    questions: list[QuestionJson]
    sent_to: str | None


class FlowJson(TypedDict):
    handle: str
    state: str
    operation: str | None
    gate: int
    gates_required: int
    options: list[OptionJson]
    challenge: ChallengeJson | None
    expires_at: str
    blocked_reason: str | None
    unlock_offered: bool


def timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def flow_json(view: FlowView) -> FlowJson:
    challenge = view.challenge
    return {
        "handle": view.handle,
        "state": view.state.value,
        "operation": str(view.operation) if view.operation else None,
        "gate": view.gate,
        "gates_required": view.gates_required,
        "options": [
            {"method": o.kind.value, "label": str(o.label), "needs_contact": o.needs_contact}
            for o in view.options
        ],
        "challenge": {
            "method": challenge.kind.value,
            "expires_at": timestamp(challenge.expires_at),
            "call_answered": challenge.call_answered,
            "questions": [{"key": q.key, "text": q.text} for q in challenge.questions],
            "sent_to": challenge.shown_as or None,
        }
        if challenge
        else None,
        "expires_at": timestamp(view.expires_at),
        "blocked_reason": view.blocked_reason or None,
        "unlock_offered": view.unlock_offered,
    }


def failures_json(exc: PasswordRejectedError) -> list[dict[str, Any]]:
    """Every rule the password failed; a directory refusal is one entry of its own."""
    if exc.failures:
        return [{"code": f.code, "message": str(f.message)} for f in exc.failures]
    code = exc.code.removeprefix("directory:")
    message = directory_message(code) if code in REJECTION_CODES else DIRECTORY_REJECTED
    return [{"code": exc.code, "message": str(message)}]
