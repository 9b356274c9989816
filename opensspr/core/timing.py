"""A floor under the response time of the reset steps (attack A1, timing).

A known user ID costs the flow engine more than an unknown one: it reads the
person's registered methods, group memberships and policy facts, where an
unknown ID gets a decoy at once. Measured on SQLite, starting a flow took about
17 ms for a known ID and 13 ms for an unknown one: enough for a statistical test
to tell them apart over a few hundred tries. Making every path do the same work
is fragile (each new check would have to be mirrored), so instead every request
to a reset step is answered no sooner than ``OPENSSPR_RESET_MIN_RESPONSE_MS``
after it arrived; both kinds then finish at the floor.

The floor holds only while the natural time stays under it: on a badly
overloaded server both kinds exceed it and the difference shows again, buried
in the overload's own noise. The metric ``opensspr_reset_floor_exceeded_total``
counts those answers, so an operator can raise the floor.
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter

#: The paths whose answers could say whether a user ID exists.
FLOORED_PREFIXES = ("/reset", "/api/v1/resets")

FLOOR_EXCEEDED = Counter(
    "opensspr_reset_floor_exceeded_total",
    "Reset-step answers that took longer than the response-time floor",
)


class ResponseFloorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        floor = settings.OPENSSPR_RESET_MIN_RESPONSE_MS / 1000
        if not floor or not request.path.startswith(FLOORED_PREFIXES):
            return self.get_response(request)
        started = time.perf_counter()
        try:
            return self.get_response(request)
        finally:
            remaining = floor - (time.perf_counter() - started)
            if remaining > 0:
                time.sleep(remaining)
            else:
                FLOOR_EXCEEDED.inc()
