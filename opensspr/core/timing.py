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

An event loop can't wait out the floor to the microsecond: its timers wake on a
whole millisecond counted from when the wait began (epoll's timeout, libuv's clock),
so a wait of 71.4 ms ends 0.6 ms late and one of 71.1 ms 0.9 ms late. The answer
then came at floor + the fraction of a millisecond of the natural time, and a known
ID's natural time is not an unknown one's: the timing-parity test told them apart
(medians 0.25 ms apart, Kolmogorov-Smirnov p < 0.01). So the loop waits all but the
last ``TAIL`` and a small pool of threads, whose ``time.sleep`` is precise, waits out
the rest: each holds a thread for a few milliseconds, not the whole floor.

The loop must wake before the deadline, every time, or the answer leaves on the loop's
late wake-up after all. Its timers can end up to 2 ms late, not 1: ``selectors`` rounds
the timeout up to whole milliseconds and hands epoll ``n * 1e-3`` seconds, which for
some n (9, 13, 18, 26, ...) is a hair over n ms, so ``epoll.poll`` rounds up once more.
A ``TAIL`` of 2 ms was not enough: a wait of 10.1 ms ended 0.03 ms past its deadline
without the thread, one of 10.9 ms 0.14 ms past it with the thread, so 0.1 ms of
lateness still depended on the fraction. Hence 2 ms of rounding plus 1 ms for the
loop's own wake-up.

The floor holds only while the natural time stays under it: on a badly
overloaded server both kinds exceed it and the difference shows again, buried
in the overload's own noise. The metric ``opensspr_reset_floor_exceeded_total``
counts those answers, so an operator can raise the floor.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

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

#: The end of a floored wait that threads wait out: more than the loop's rounding (up to
#: 2 ms, the module's docstring says why) and its wake-up, so the loop wakes before the
#: deadline and a thread ends every wait.
TAIL = 0.003

#: Threads for the tails: each holds one for at most ``TAIL``, so four serve over a
#: thousand answers a second. Its own pool, not the loop's default: Django's WSGI path runs each
#: request in a fresh loop, whose default pool would be built and joined every time.
_TAILS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="response-floor")


def _floor_for(request: HttpRequest) -> float:
    """Seconds the answer to ``request`` may not come sooner than; 0 for no floor."""
    if not request.path_info.startswith(FLOORED_PREFIXES):
        return 0.0
    return float(settings.OPENSSPR_RESET_MIN_RESPONSE_MS) / 1000


def _remaining(floor: float, started: float) -> float:
    remaining = floor - (time.perf_counter() - started)
    if remaining <= 0:
        FLOOR_EXCEEDED.inc()
    return remaining


class ResponseFloorMiddleware:
    """Async only: under ASGI it awaits the floor, the request's thread given back (a tail
    thread holds the last ``TAIL``); under WSGI Django runs it through ``async_to_sync`` in
    the request's thread, which then waits, as before.

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
            if floor and _remaining(floor, started) > 0:
                await _wait_until(started + floor)


async def _wait_until(deadline: float) -> None:
    """Until ``time.perf_counter()`` reads ``deadline``: the loop's coarse wait, then a
    thread's precise one (the module's docstring says why)."""
    if (coarse := deadline - time.perf_counter() - TAIL) > 0:
        await asyncio.sleep(coarse)
    if deadline - time.perf_counter() > 0:
        await asyncio.get_running_loop().run_in_executor(_TAILS, _sleep_until, deadline)


def _sleep_until(deadline: float) -> None:
    if (left := deadline - time.perf_counter()) > 0:
        time.sleep(left)
