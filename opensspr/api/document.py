"""Build the OpenAPI 3.1 document from the routes and their endpoint declarations.

Only ``scripts/build_openapi.py`` and the tests call this: the server serves the
checked-in file. Paths and operations come from walking ``opensspr.api.urls``, so
a route can't exist undocumented; request schemas come from the same
:class:`~opensspr.api.bodies.Body` the parser enforces, each with
``additionalProperties: false``; each error status lists exactly the codes the
endpoint may answer with it.
"""

import json
from collections import defaultdict
from typing import Any

from opensspr.api import urls
from opensspr.api.bodies import MAX_BODY_BYTES
from opensspr.api.endpoints import EndpointSpec
from opensspr.api.problems import PROBLEMS, TYPE_BASE
from opensspr.policy.kinds import MethodKind
from opensspr.resets.models import FlowState, Operation

VERSION = "1.0.0"
REF = "#/components/schemas/"

INFO_DESCRIPTION = f"""\
The self-service password reset and account unlock flow of OpenSSPR, for kiosks
and other clients. It drives the same server-side state machine as the portal.

* Start with `POST /resets`, sending the user ID and a solved captcha from
  `GET /captcha/challenge` (outside this API, at the site root).
* Every later call carries the flow handle: `Authorization: Flow <handle>`.
* Every call that changes the flow answers with a NEW handle (`handle` in the flow
  object, also inside an error's `flow`). The old handle is dead from then on.
  An error without a `flow` changed nothing: keep using your handle.
* Bodies are JSON objects (`Content-Type: application/json`, at most
  {MAX_BODY_BYTES} bytes) with exactly the documented string fields; anything else
  is a 400. No endpoint takes query parameters.
* Errors are problem objects (`application/problem+json`) with a stable `code`,
  a `title` in the language of `Accept-Language` and the request's
  `correlation_id` (also its `X-Request-ID` header). A method a path doesn't
  list answers 405 `method_not_allowed` with an `Allow` header.
* Every operation may answer 503 (`service_unavailable`: the database or cache is
  down or busy; `directory_unavailable`) and 500 (`server_error`). Neither changed
  anything: try again later with the same handle.
* Responses are never cached (`Cache-Control: no-store`) and set no cookie.
"""


def build_document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    bodies: dict[str, Any] = {}
    for pattern in urls.urlpatterns:
        spec: EndpointSpec = pattern.callback.api_spec  # type: ignore[attr-defined]  # set by endpoints
        paths["/" + str(pattern.pattern)] = {spec.method.lower(): _operation(spec)}
        if spec.body is not None:
            bodies[spec.body.name] = spec.body.json_schema()
    return {
        "openapi": "3.1.0",
        "info": {"title": "OpenSSPR API", "version": VERSION, "description": INFO_DESCRIPTION},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "flowHandle": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`Flow <handle>`, the handle from the last flow answered.",
                }
            },
            "schemas": {**_response_schemas(), **bodies},
        },
    }


def render_document() -> str:
    return json.dumps(build_document(), indent=2, ensure_ascii=False) + "\n"


def _operation(spec: EndpointSpec) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": spec.operation_id, "summary": spec.summary}
    if spec.description:
        operation["description"] = spec.description
    operation["security"] = [{"flowHandle": []}] if spec.needs_handle else []
    if spec.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF + spec.body.name}}},
        }
    success: dict[str, Any] = {
        "description": "The flow, with the handle to use next."
        if spec.response == "Flow"
        else "OK",
        "content": {"application/json": {"schema": {"$ref": REF + spec.response}}},
    }
    if spec.success == 201:
        success["headers"] = {"Location": {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {str(spec.success): success}
    by_status: dict[int, list[str]] = defaultdict(list)
    for code in spec.all_codes():
        by_status[PROBLEMS[code][0]].append(code)
    for status in sorted(by_status):
        responses[str(status)] = _problem_response(status, by_status[status])
    operation["responses"] = responses
    return operation


def _problem_response(status: int, codes: list[str]) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": ", ".join(f"`{c}`" for c in codes),
        "content": {
            "application/problem+json": {
                "schema": {
                    "$ref": REF + "Problem",
                    "properties": {"status": {"const": status}, "code": {"enum": codes}},
                }
            }
        },
    }
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return response


def _response_schemas() -> dict[str, Any]:
    timestamp = {"type": "string", "format": "date-time"}
    method = {"type": "string", "enum": [k.value for k in MethodKind]}
    return {
        "Flow": {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "handle",
                "state",
                "operation",
                "gate",
                "gates_required",
                "options",
                "challenge",
                "expires_at",
                "blocked_reason",
                "unlock_offered",
            ],
            "properties": {
                "handle": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9_-]{16,128}$",
                    "description": "Send as `Authorization: Flow <handle>`; the last one is dead.",
                },
                "state": {"type": "string", "enum": list(FlowState.values)},
                "operation": {
                    "type": ["string", "null"],
                    "enum": [*Operation.values, None],
                    "description": "Null until chosen in state `choose_operation`.",
                },
                "gate": {"type": "integer", "minimum": 1, "description": "The gate being passed."},
                "gates_required": {"type": "integer", "minimum": 1},
                "options": {
                    "type": "array",
                    "items": {"$ref": REF + "MethodOption"},
                    "description": "The methods for the next gate (state `verify` only).",
                },
                "challenge": {
                    "anyOf": [{"$ref": REF + "Challenge"}, {"type": "null"}],
                    "description": "The open challenge, if a code was sent or a call placed.",
                },
                "expires_at": timestamp,
                "blocked_reason": {
                    "type": ["string", "null"],
                    "description": "Why the flow ended, in state `blocked` (e.g. `throttled`).",
                },
                "unlock_offered": {"type": "boolean"},
            },
        },
        "MethodOption": {
            "type": "object",
            "additionalProperties": False,
            "required": ["method", "label", "needs_contact"],
            "properties": {
                "method": method,
                "label": {"type": "string", "description": "In the request's language."},
                "needs_contact": {
                    "type": "boolean",
                    "description": "Send the full email address or phone number as `contact`.",
                },
            },
        },
        "Challenge": {
            "type": "object",
            "additionalProperties": False,
            "required": ["method", "expires_at", "call_answered", "questions", "sent_to"],
            "properties": {
                "method": method,
                "expires_at": timestamp,
                "call_answered": {"type": "boolean"},
                "sent_to": {
                    "type": ["string", "null"],
                    "description": "The address or number the code or call went to, masked "
                    "(`j•••@mail.example`, `+31 6 •••• 5678`); null for the app and questions.",
                },
                "questions": {
                    "type": "array",
                    "items": {"$ref": REF + "Question"},
                    "description": "For security questions: answer every one, in `answers`.",
                },
            },
        },
        "Question": {
            "type": "object",
            "additionalProperties": False,
            "required": ["key", "text"],
            "properties": {
                "key": {"type": "string", "maxLength": 32},
                "text": {"type": "string", "description": "In the request's language."},
            },
        },
        "PasswordFailure": {
            "type": "object",
            "additionalProperties": False,
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        },
        "Problem": {
            "type": "object",
            "additionalProperties": False,
            "required": ["type", "code", "title", "status", "correlation_id"],
            "properties": {
                "type": {"type": "string", "format": "uri", "description": TYPE_BASE + "<code>"},
                "code": {"type": "string", "enum": list(PROBLEMS)},
                "title": {"type": "string", "description": "In the request's language."},
                "status": {"type": "integer"},
                "correlation_id": {
                    "type": "string",
                    "description": "The request's `X-Request-ID`: quote it to the helpdesk.",
                },
                "detail": {"type": "string", "description": "What exactly was wrong."},
                "field": {"type": "string", "description": "The request field concerned."},
                "tries_left": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "After a wrong code or answer: how many more may be wrong "
                    "before this way to verify is blocked for this user ID for up to 24 hours "
                    "(the same for every ID).",
                },
                "retry_after": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "Seconds to wait before the next try: wrong answers in a "
                    "row pause this way for a minute, then five (also the `Retry-After` "
                    "header). The flow goes on meanwhile.",
                },
                "failures": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"$ref": REF + "PasswordFailure"},
                },
                "flow": {
                    "$ref": REF + "Flow",
                    "description": "The flow now, with its new handle.",
                },
            },
            "allOf": [
                {
                    "if": {"properties": {"code": {"const": "password_rejected"}}},
                    "then": {"required": ["failures", "flow"]},
                },
                {
                    "if": {"properties": {"code": {"const": "throttled"}}},
                    "then": {"required": ["flow"]},
                },
            ],
        },
        "OpenApiDocument": {
            "type": "object",
            "required": ["openapi", "info", "paths"],
            "properties": {"openapi": {"const": "3.1.0"}},
        },
    }
