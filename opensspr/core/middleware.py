"""Per-request plumbing: correlation ids and the person's language.

Language: ``?mkt=nl-nl`` (the reference portal's override) wins and is kept in
the session; then a language kept earlier; then the browser's
``Accept-Language``; then English. Only configured languages are accepted.
"""

import contextvars
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers

from opensspr.core.memo import request_memo
from opensspr.core.request_meta import new_correlation_id

correlation_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "correlation_id", default="-"
)
LANGUAGE_SESSION_KEY = "opensspr_language"


class RequestContextMiddleware:
    """Gives every request a fresh correlation id, echoed as ``X-Request-ID``, and a memo.

    The memo (``core/memo.py``) lets the single-row settings be read once per request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        correlation_id = new_correlation_id()
        request.correlation_id = correlation_id  # type: ignore[attr-defined]  # our request attribute
        token = correlation_id_var.set(correlation_id)
        try:
            with request_memo():
                response = self.get_response(request)
        finally:
            correlation_id_var.reset(token)
        response["X-Request-ID"] = correlation_id
        return response


def supported_language(code: str | None) -> str | None:
    """Map ``nl-NL``, ``nl_nl`` or ``NL`` to a configured language, else None."""
    if not code:
        return None
    base = code.strip().replace("_", "-").lower()
    available = {lang for lang, _name in settings.LANGUAGES}
    if base in available:
        return base
    primary = base.split("-", 1)[0]
    return primary if primary in available else None


class LanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = self._choose(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language  # Django's convention
        response = self.get_response(request)
        patch_vary_headers(response, ["Accept-Language", "Cookie"])
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response

    @staticmethod
    def _choose(request: HttpRequest) -> str:
        requested = supported_language(request.GET.get("mkt"))
        # The API carries no cookie or session: a language choice there never creates one.
        api = request.path_info.startswith("/api/")
        session = None if api else getattr(request, "session", None)
        if requested:
            if session is not None:
                session[LANGUAGE_SESSION_KEY] = requested
            return requested
        kept = (
            supported_language(session.get(LANGUAGE_SESSION_KEY)) if session is not None else None
        )
        if kept:
            return kept
        return translation.get_language_from_request(request) or settings.LANGUAGE_CODE
