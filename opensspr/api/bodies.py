"""Strict request bodies: a JSON object holding exactly an endpoint's own string fields.

Mass assignment and type confusion (attack A20, ASVS 15.3.3/15.3.7, GitLab
CVE-2023-7028) are refused here, before any service runs: the body must be UTF-8
JSON of at most ``MAX_BODY_BYTES``, an object, without duplicate keys at any
depth, without fields the endpoint doesn't declare, and every field a string of
bounded length without NUL or lone surrogates (which no database column stores).
The same :class:`Body` declarations produce the request schemas of the OpenAPI
document, so the document and the parser can't disagree.
"""

import json
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from opensspr.api.problems import ApiProblem

MAX_BODY_BYTES = 16 * 1024
# The character rules of ``_allowed_characters`` as JSON Schema (ECMA-262) patterns.
ANY_BUT_NUL = "^[^\\u0000]*$"
NO_CONTROLS = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"


@dataclass(frozen=True)
class Field:
    name: str
    max_length: int
    required: bool = True
    min_length: int = 0
    choices: tuple[str, ...] = ()
    allow_controls: bool = False  # passwords may hold a tab; nothing may hold NUL
    description: str = ""

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "maxLength": self.max_length}
        if self.min_length:
            schema["minLength"] = self.min_length
        if self.choices:
            schema["enum"] = list(self.choices)
        schema["pattern"] = (
            "^[^\\u0000]*$" if self.allow_controls else "^[^\\u0000-\\u001f\\u007f]*$"
        )
        if self.description:
            schema["description"] = self.description
        return schema


@dataclass(frozen=True)
class StringMap:
    """An object of string values under string keys (security answers by question)."""

    name: str
    max_items: int
    key_length: int
    value: Field
    required: bool = True
    description: str = ""

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "object",
            "maxProperties": self.max_items,
            "propertyNames": {"maxLength": self.key_length},
            "additionalProperties": self.value.json_schema(),
        }
        if self.description:
            schema["description"] = self.description
        return schema


@dataclass(frozen=True)
class Body:
    """``one_of``: of these optional fields, a body carries exactly one (``oneOf``)."""

    name: str  # the component schema's name in the OpenAPI document
    fields: tuple[Field | StringMap, ...] = ()
    one_of: tuple[str, ...] = ()

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "object",
            "additionalProperties": False,
            "required": [f.name for f in self.fields if f.required],
            "properties": {f.name: f.json_schema() for f in self.fields},
        }
        if self.one_of:
            schema["oneOf"] = [{"required": [name]} for name in self.one_of]
        return schema


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ApiProblem(
                "invalid_request",
                _("The field “%(field)s” appears more than once.") % {"field": key[:64]},
                field=key[:64],
            )
        seen[key] = value
    return seen


def _no_constants(name: str) -> None:
    raise ValueError(name)  # NaN and Infinity are not JSON


def read_json_object(request: HttpRequest) -> dict[str, Any]:
    """The body as a dict, or an :class:`ApiProblem` (415, 413 or 400)."""
    media_type = (request.content_type or "").lower()
    charset = (request.content_params or {}).get("charset", "utf-8").lower()
    if media_type != "application/json" or charset not in ("utf-8", "utf8"):
        raise ApiProblem("unsupported_media_type")
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit():
        raise ApiProblem("invalid_request", _("The request body is not valid JSON."))
    if int(declared) > MAX_BODY_BYTES:
        raise ApiProblem("body_too_large")
    raw = request.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise ApiProblem("body_too_large")
    try:
        data = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constants
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiProblem("invalid_request", _("The request body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise ApiProblem("invalid_request", _("The request body must be a JSON object."))
    return data


def parse_body(request: HttpRequest, body: Body) -> dict[str, Any]:
    """Exactly the fields ``body`` declares, each checked; anything else is a 400."""
    data = read_json_object(request)
    declared = {f.name: f for f in body.fields}
    for key in data:
        if key not in declared:
            raise ApiProblem(
                "invalid_request",
                _("“%(field)s” is not a field of this request.") % {"field": key[:64]},
                field=key[:64],
            )
    if body.one_of and sum(name in data for name in body.one_of) != 1:
        choices = "”, “".join(body.one_of)
        raise ApiProblem(
            "invalid_request",
            _("Send exactly one of “%(fields)s”.") % {"fields": choices},
            field=body.one_of[0],
        )
    values = {}
    for spec in body.fields:
        if spec.name not in data:
            if spec.required:
                raise ApiProblem(
                    "invalid_request",
                    _("The field “%(field)s” is required.") % {"field": spec.name},
                    field=spec.name,
                )
            continue
        value = data[spec.name]
        values[spec.name] = (
            _checked_map(spec, value) if isinstance(spec, StringMap) else _checked(spec, value)
        )
    return values


def _checked_map(spec: StringMap, value: object) -> dict[str, str]:
    names = {"field": spec.name}
    if not isinstance(value, dict):
        raise ApiProblem(
            "invalid_request",
            _("The field “%(field)s” must be an object.") % names,
            field=spec.name,
        )
    if len(value) > spec.max_items:
        raise ApiProblem(
            "invalid_request",
            _("The field “%(field)s” has more than %(limit)s entries.")
            % {**names, "limit": spec.max_items},
            field=spec.name,
        )
    checked = {}
    for key, item in value.items():
        key_spec = Field(f"{spec.name}.{key[: spec.key_length]}", spec.key_length)
        _checked(key_spec, key)
        checked[key] = _checked(Field(key_spec.name, spec.value.max_length), item)
    return checked


def _checked(spec: Field, value: object) -> str:
    def problem(detail: Any) -> ApiProblem:
        return ApiProblem("invalid_request", detail, field=spec.name)

    names = {"field": spec.name}
    if not isinstance(value, str):
        raise problem(_("The field “%(field)s” must be a string.") % names)
    if len(value) > spec.max_length:
        raise problem(
            _("The field “%(field)s” is longer than %(limit)s characters.")
            % {**names, "limit": spec.max_length}
        )
    if len(value) < spec.min_length:
        raise problem(_("The field “%(field)s” must not be empty.") % names)
    if spec.choices and value not in spec.choices:
        raise problem(
            _("The field “%(field)s” must be one of: %(choices)s.")
            % {**names, "choices": ", ".join(spec.choices)}
        )
    if not _allowed_characters(value, controls=spec.allow_controls):
        raise problem(_("The field “%(field)s” contains characters that are not allowed.") % names)
    return value


def _allowed_characters(value: str, *, controls: bool) -> bool:
    forbidden = {"Cs"} if controls else {"Cs", "Cc"}
    return "\x00" not in value and not any(unicodedata.category(ch) in forbidden for ch in value)
