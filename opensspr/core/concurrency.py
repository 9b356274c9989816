"""At most ``threads`` requests of one server process run their sync code at once.

Under ASGI Django runs each request's sync middleware and view in a thread of
its own, with no bound: 64 clients would get 64 threads fighting over the GIL,
64 database connections and up to 64 concurrent argon2id hashes of 19 MiB each.
This middleware, placed right under the response floor, admits ``threads``
requests at a time per process, the bound gunicorn's ``gthread`` worker gave,
while a request waiting out the floor no longer counts against it. Under WSGI
the server's own thread pool is the bound, and this passes through.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

_limit = 8

#: Long polls that wait on the event loop, not in a thread: an agent waiting for
#: work must not take one of the ``threads`` slots people's requests need.
UNBOUNDED_PREFIXES = ("/agent/v1/jobs/next",)

#: The rest of the agents' calls (a job's parts and result, heartbeats) have ``threads``
#: slots of their own. A person's request that writes through an agent waits in its slot
#: for the agent's answer, which comes in as a request: in the same slots, with every
#: slot taken by such waits, the answers would queue behind them until the jobs expired.
AGENT_PREFIX = "/agent/v1/"


def set_limit(threads: int) -> None:
    """Called by ``opensspr serve`` before the workers fork."""
    global _limit  # noqa: PLW0603  # one process-wide setting, set once at start
    _limit = max(1, threads)


def limit() -> int:
    """People's requests of this process admitted into their sync part at once (and as
    many of the agents')."""
    return _limit


def request_threads() -> int:
    """The threads a process keeps for requests' sync parts (``core/handler.py``).

    The people's slots and the agents', and four spare: a slot is given back when the
    thread's answer reaches the loop, a moment before the thread is free for the next
    request. On PostgreSQL each of them may hold a connection of the pool at once.
    """
    return 2 * _limit + 4


class ConcurrencyLimitMiddleware:
    # Async only, like the floor above it: capable of both, Django would run it sync (as the
    # sync-only middleware below it) and it would bound nothing.
    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], object]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        self._slots: asyncio.Semaphore | None = None
        self._agent_slots: asyncio.Semaphore | None = None
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> object:
        if self.is_async:
            if request.path_info.startswith(UNBOUNDED_PREFIXES):
                return self.get_response(request)
            return self._limited(request)
        return self.get_response(request)

    async def _limited(self, request: HttpRequest) -> HttpResponse:
        if self._slots is None or self._agent_slots is None:  # made in the worker's own loop
            self._slots, self._agent_slots = asyncio.Semaphore(_limit), asyncio.Semaphore(_limit)
        slots = self._agent_slots if request.path_info.startswith(AGENT_PREFIX) else self._slots
        respond: Callable[[HttpRequest], Awaitable[HttpResponse]] = self.get_response  # type: ignore[assignment]  # async mode
        async with slots:
            running = asyncio.ensure_future(respond(request))
            try:
                return await asyncio.shield(running)
            except asyncio.CancelledError:
                # The client left (the handler cancels the request): the view runs on in
                # its thread, so its slot stays taken until it ends; given back at once, a
                # client dropping its connections could have more views run than the limit.
                # (A second cancellation, the process ending, gives it back at once.)
                await asyncio.wait({running})
                await _settle(running)
                raise


async def _settle(running: asyncio.Future[HttpResponse]) -> None:
    """What the view of a request whose client left came to: an error is logged (not left
    to asyncio's "never retrieved"), a streamed body closed (its file, its query)."""
    if running.cancelled():
        return
    if (error := running.exception()) is not None:
        logger.error("a request whose client left failed: %s", type(error).__name__)
        return
    response = running.result()
    if getattr(response, "streaming", False):  # one in memory was closed by the view's thread
        await sync_to_async(response.close)()
