"""A floor under the response time of the reset steps (attack A1, timing).

A known user ID costs the flow engine more than an unknown one: it reads the
person's registered methods, group memberships and policy facts, where an
unknown ID gets a decoy at once. Measured on SQLite, starting a flow took about
17 ms for a known ID and 13 ms for an unknown one: enough for a statistical test
to tell them apart over a few hundred tries. Making every path do the same work
is fragile (each new check would have to be mirrored), so instead every request
to a reset step is answered no sooner than ``OPENSSPR_RESET_MIN_RESPONSE_MS``
after it arrived; both kinds then finish at the floor.

Waiting out the floor must not cost a worker thread, or the floor caps the
throughput at threads / floor (8 threads and 150 ms: 53 answers a second,
about 10 resets, whatever the CPU could do). Under ``opensspr serve`` (ASGI,
see docs/adr/0005-asgi-serving.md) the middleware runs async: the view runs in
a thread, which is given back as soon as the answer is ready, and the remaining
time is awaited on the event loop. Under WSGI (Django's test client, a WSGI
server) it sleeps in the thread, as before, with the same parity.

The floor holds only while the natural time stays under it: on a badly
overloaded server both kinds exceed it and the difference shows again, buried
in the overload's own noise. The metric ``opensspr_reset_floor_exceeded_total``
counts those answers, so an operator can raise the floor.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter

#: The paths whose answers could say whether a user ID exists.
FLOORED_PREFIXES = ("/reset", "/api/v1/resets")

FLOOR_EXCEEDED = Counter(
    "opensspr_reset_floor_exceeded_total",
    "Reset-step answers that took longer than the response-time floor",
)


def _floor_for(request: HttpRequest) -> float:
    """Seconds the answer to ``request`` may not come sooner than; 0 for no floor."""
    if not request.path.startswith(FLOORED_PREFIXES):
        return 0.0
    return float(settings.OPENSSPR_RESET_MIN_RESPONSE_MS) / 1000


def _remaining(floor: float, started: float) -> float:
    remaining = floor - (time.perf_counter() - started)
    if remaining <= 0:
        FLOOR_EXCEEDED.inc()
    return remaining


class ResponseFloorMiddleware:
    """Async only: under ASGI it awaits the floor, the thread given back; under WSGI Django
    runs it through ``async_to_sync`` in the request's thread, which then waits, as before.

    Async *only*, because Django runs a middleware that can do both in the mode of the
    one below it: one sync-only middleware lower down (``RequestContextMiddleware``,
    WhiteNoise) made this one sync too, and the floor was slept in a thread after all
    (found sampling the demo during the HTTP reset storm). Keep it first in
    ``MIDDLEWARE``: a sync middleware above it would run it inside a thread that waits.
    """

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], object]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> object:
        if self.is_async:
            return self._floored_async(request)
        floor = _floor_for(request)
        started = time.perf_counter()
        try:
            return self.get_response(request)
        finally:
            if floor and (remaining := _remaining(floor, started)) > 0:
                time.sleep(remaining)

    async def _floored_async(self, request: HttpRequest) -> HttpResponse:
        floor = _floor_for(request)
        started = time.perf_counter()
        respond: Callable[[HttpRequest], Awaitable[HttpResponse]] = self.get_response  # type: ignore[assignment]  # async mode
        try:
            return await respond(request)
        finally:
            if floor and (remaining := _remaining(floor, started)) > 0:
                await asyncio.sleep(remaining)
