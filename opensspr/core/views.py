"""Operational endpoints: liveness, readiness and metrics.

They carry no session and set no cookies. /readyz answers 503 with which
dependency failed (names only, no error strings), so an orchestrator can hold
traffic back while the database or Redis is down.
"""

import hmac
import ipaddress
import sys

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from opensspr.core.metrics import render_latest
from opensspr.core.outages import is_outage
from opensspr.core.request_meta import client_ip


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def _cache_ok() -> bool:
    try:
        cache.set("opensspr:readyz", "1", timeout=5)
        return cache.get("opensspr:readyz") == "1"
    except Exception:
        return False


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_ok(), "cache": _cache_ok()}
    ready = all(checks.values())
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    return JsonResponse(body, status=200 if ready else 503)


#: Headers a relaying proxy adds; one of them on a loopback connection means "not local".
_RELAY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def _from_this_host(request: HttpRequest) -> bool:
    """Whether the request comes from a process on this machine, not relayed for someone else.

    A reverse proxy on the same host connects from loopback on behalf of anyone,
    so with no trusted proxy hops a relay header makes the request remote; with
    trusted hops, ``client_ip`` already names the real client.
    """
    address = client_ip(request)
    if address is None or not ipaddress.ip_address(address).is_loopback:
        return False
    if settings.OPENSSPR_TRUSTED_PROXY_HOPS:
        return True
    return not any(request.META.get(header) for header in _RELAY_HEADERS)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics: with a token set, only for its bearer; otherwise only from loopback.

    The counters follow what people do (sign-ins, lockouts, deliveries), so open
    metrics would let an outsider watch the effect of their own requests (attack A1).
    """
    token = settings.OPENSSPR_METRICS_TOKEN
    if token:
        supplied = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(supplied.encode(), token.encode()):
            return HttpResponse(status=401, headers={"WWW-Authenticate": "Bearer"})
    elif not _from_this_host(request):
        return HttpResponse(status=403)
    payload, content_type = render_latest()
    return HttpResponse(payload, content_type=content_type)


# --- Error pages: clear, translated, branded; never a stack trace or internal detail.
def _error(request: HttpRequest, status: int, heading: str, message: str) -> HttpResponse:
    context = {
        "heading": heading,
        "message": message,
        "correlation_id": getattr(request, "correlation_id", ""),
    }
    return render(request, "opensspr/error.html", context, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request,
        400,
        _("We couldn't read that request"),
        _("Something in the request was not valid. Go back and try again."),
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request,
        403,
        _("You can't do that here"),
        _("Your account is not allowed to open this page."),
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request,
        404,
        _("Page not found"),
        _("There is no page at this address. Check it, or start again from the start page."),
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _error(
        request,
        403,
        _("Your form has expired"),
        _(
            "For your security, forms work only for a limited time and only in the "
            "tab they were opened in. Go back, reload the page and try again."
        ),
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """The "nothing was changed" page: 503 when a dependency is down, else 500.

    Django calls this handler while the exception is being handled, so
    ``sys.exc_info`` names it. The template is rendered without the request's
    context processors, which read the database that may be the thing down.
    """
    status = 503 if is_outage(sys.exc_info()[1]) else 500
    body = loader.get_template(f"{status}.html").render(
        {"correlation_id": getattr(request, "correlation_id", "")}
    )
    return HttpResponse(body, status=status)
