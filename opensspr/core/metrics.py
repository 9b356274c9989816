"""Prometheus metrics: one registry module, so names stay consistent.

Under gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` (the
``opensspr serve`` command does) and the /metrics view aggregates all workers.
Labels are bounded: view names and outcome codes, never user input.
"""

import os
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "opensspr_http_requests_total", "HTTP requests by view and status", ["view", "method", "status"]
)
LATENCY = Histogram("opensspr_http_request_seconds", "Request latency by view", ["view"])
SIGN_INS = Counter("opensspr_sign_ins_total", "Sign-in attempts by outcome", ["outcome"])
PASSWORD_CHANGES = Counter(
    "opensspr_password_changes_total", "Password changes by outcome", ["outcome"]
)
LOCKOUTS = Counter("opensspr_lockouts_total", "Smart-lockout lock events")
AUDIT_FORWARDED = Counter("opensspr_audit_forwarded_total", "Audit events the syslog receiver took")
AUDIT_FORWARD_FAILURES = Counter(
    "opensspr_audit_forward_failures_total", "Syslog forwarding runs stopped by an error"
)
# Set by whichever process forwarded last (the worker): the most recent value wins.
AUDIT_FORWARD_LAG_EVENTS = Gauge(
    "opensspr_audit_forward_lag_events",
    "Sealed audit events not yet forwarded to syslog",
    multiprocess_mode="mostrecent",
)
AUDIT_FORWARD_LAG_SECONDS = Gauge(
    "opensspr_audit_forward_lag_seconds",
    "Age of the oldest sealed audit event not yet forwarded (0 when caught up)",
    multiprocess_mode="mostrecent",
)


def _view_name(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return match.view_name if match and match.view_name else "unresolved"


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        view = _view_name(request)
        REQUESTS.labels(view, request.method or "", str(response.status_code)).inc()
        LATENCY.labels(view).observe(time.perf_counter() - started)
        return response


def render_latest() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
