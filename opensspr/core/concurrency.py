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
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

_limit = 8

#: Long polls that wait on the event loop, not in a thread: an agent waiting for
#: work must not take one of the ``threads`` slots people's requests need.
UNBOUNDED_PREFIXES = ("/agent/v1/jobs/next",)


def set_limit(threads: int) -> None:
    """Called by ``opensspr serve`` before the workers fork."""
    global _limit  # noqa: PLW0603  # one process-wide setting, set once at start
    _limit = max(1, threads)


def limit() -> int:
    """Requests of this process admitted into their sync part at once."""
    return _limit


class ConcurrencyLimitMiddleware:
    # Async only, like the floor above it: capable of both, Django would run it sync (as the
    # sync-only middleware below it) and it would bound nothing.
    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], object]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        self._slots: asyncio.Semaphore | None = None
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> object:
        if self.is_async:
            if request.path.startswith(UNBOUNDED_PREFIXES):
                return self.get_response(request)
            return self._limited(request)
        return self.get_response(request)

    async def _limited(self, request: HttpRequest) -> HttpResponse:
        if self._slots is None:  # made in the worker's own event loop
            self._slots = asyncio.Semaphore(_limit)
        respond: Callable[[HttpRequest], Awaitable[HttpResponse]] = self.get_response  # type: ignore[assignment]  # async mode
        async with self._slots:
            return await respond(request)
