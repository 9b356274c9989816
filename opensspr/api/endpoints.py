"""The one decorator every API view wears, and the declarations the document is built from.

``@endpoint(...)`` checks, in this order and before the view runs: the HTTP
method (405), the absence of query parameters (400; ASVS 15.3.7 parameter
pollution), the ``Authorization: Flow <handle>`` header where the endpoint needs
one (401), and the body (415, 413, 400). It then turns every engine error into
its problem object, so a view is only "parse, call one service, render". An
outage of the database, the cache or the directory (``core.outages``) answers
503 ``service_unavailable``; any other exception goes on to ``handler500``,
which answers 500 ``server_error`` under ``/api/``.
Responses are never cached and never set a cookie: the view touches no session.
"""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt

from opensspr.api.bodies import Body, parse_body
from opensspr.api.problems import ApiProblem, from_engine_code, problem_response
from opensspr.api.representations import failures_json, flow_json
from opensspr.core.outages import is_outage, outage_cause
from opensspr.directory.base import DirectoryError
from opensspr.resets.flow import FlowBlockedError, FlowError, PasswordRejectedError

logger = logging.getLogger(__name__)

_HANDLE = re.compile(r"Flow ([A-Za-z0-9_-]{16,128})", re.IGNORECASE)

# Codes any endpoint of a kind can answer, beside the ones it declares.
COMMON_CODES = ("invalid_request", "server_error", "service_unavailable", "directory_unavailable")
BODY_CODES = ("body_too_large", "unsupported_media_type")
HANDLE_CODES = ("flow_not_found",)


@dataclass(frozen=True)
class EndpointSpec:
    """What the OpenAPI document says about one view."""

    method: str
    operation_id: str
    summary: str
    success: int = 200
    body: Body | None = None
    needs_handle: bool = False
    codes: tuple[str, ...] = ()  # engine and API codes it may answer
    response: str = "Flow"  # the success body's component schema
    description: str = ""

    def all_codes(self) -> tuple[str, ...]:
        codes = [*COMMON_CODES, *self.codes]
        if self.body is not None:
            codes += BODY_CODES
        if self.needs_handle:
            codes += HANDLE_CODES
        return tuple(dict.fromkeys(codes))


Call = dict[str, Any]  # the view's keyword arguments: ``data`` and/or ``handle``


def handle_from(request: HttpRequest) -> str:
    """The flow handle from ``Authorization: Flow <handle>``; a 401 when absent or malformed."""
    match = _HANDLE.fullmatch(request.headers.get("Authorization", "").strip())
    if match is None:
        raise from_engine_code("flow_not_found")
    return match.group(1)


def endpoint(**spec_args: Any) -> Callable[[Callable[..., HttpResponse]], Callable[..., Any]]:
    spec = EndpointSpec(**spec_args)

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., Any]:
        @csrf_exempt  # no cookie or session credential: the handle is in a header
        @wraps(view)
        def wrapper(request: HttpRequest) -> HttpResponse:
            try:
                response = _dispatch(view, spec, request)
            except ApiProblem as problem:
                response = problem_response(problem)
            except Exception as exc:
                if not is_outage(exc):
                    raise  # a bug: Django logs it, handler500 answers server_error
                # Names only: a driver's message may quote a query or an address.
                logger.warning("%s: dependency unavailable (%s)", request.path, outage_cause(exc))
                response = problem_response(ApiProblem("service_unavailable"))
            add_never_cache_headers(response)
            return response

        wrapper.api_spec = spec  # type: ignore[attr-defined]  # read by the document builder
        return wrapper

    return decorate


def _dispatch(
    view: Callable[..., HttpResponse], spec: EndpointSpec, request: HttpRequest
) -> HttpResponse:
    if request.method != spec.method:
        raise ApiProblem("method_not_allowed", headers={"Allow": spec.method})
    if request.META.get("QUERY_STRING"):
        raise ApiProblem("invalid_request", _("This endpoint takes no query parameters."))
    kwargs: Call = {}
    if spec.needs_handle:
        kwargs["handle"] = handle_from(request)
    if spec.body is not None:
        kwargs["data"] = parse_body(request, spec.body)
    try:
        return view(request, **kwargs)
    except PasswordRejectedError as exc:
        raise ApiProblem(
            "password_rejected",
            extra={"failures": failures_json(exc), "flow": flow_json(exc.view)},
        ) from None
    except FlowBlockedError as exc:
        raise ApiProblem("throttled", extra={"flow": flow_json(exc.view)}) from None
    except FlowError as exc:
        extra: dict[str, int] = {}
        headers: dict[str, str] = {}
        if exc.tries_left is not None:
            extra["tries_left"] = exc.tries_left
        if exc.retry_after is not None:  # a short pause after wrong answers in a row
            extra["retry_after"] = exc.retry_after
            headers["Retry-After"] = str(exc.retry_after)
        raise from_engine_code(exc.code, extra=extra or None, headers=headers) from None
    except DirectoryError:
        raise from_engine_code("directory_unavailable") from None
