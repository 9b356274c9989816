"""The ASGI application ``opensspr serve`` runs: Django's, with its sync part in one thread hop.

Django's ``ASGIHandler`` loads ``MIDDLEWARE`` in async mode and ends the chain in an
async handler. With sync-only middleware in the chain (ours, WhiteNoise, sessions,
CSRF, auth...), a request went from the event loop into its thread for those, back
to the loop for the handler, and into the thread again for ``XFrameOptionsMiddleware``'s
response hook, ``CsrfViewMiddleware.process_view`` and the view, each on its own:
five round trips between the loop and the thread, each a handful of futures, a context
copy and a wake-up of the loop (measured on ``/healthz``: 0.15-0.6 ms of CPU a request,
docs/contributors/performance.md, session 13). Here the leading async-only middleware (the floor
and the concurrency limit, ``core/timing.py``, ``core/concurrency.py``) run on the
loop as before, and everything below them, down to the view, is loaded in sync mode,
as a WSGI server loads it, and runs in one hop. What runs there and in what order is
unchanged. An async view (the agents' long poll) runs on the loop as before, its
thread waiting for it as before.

Per request, Django's handler also made a thread of its own (``ThreadSensitiveContext``:
a fresh one-thread executor, started and joined again), sent ``request_started`` in
it with one more hop, and closed the response, sending ``request_finished``, with a
third. Sampled in the demo's single worker during the HTTP storm, the event loop's
side of that (thread start, the signals' hops, futures and wake-ups) held the GIL about
as long as the views themselves. So here a request that waits its turn in the limit
runs in a kept thread of a pool sized to the limit's slots, as a WSGI server's threads
are kept, and that one hop sends ``request_started``, runs the chain and, for a response
whose body is already in memory, closes it (``request_finished``: the database
connection goes back before the floor's wait, not after the send). A streaming
response (the CSV downloads) is iterated and closed in a thread of the request's own
after its last chunk, as Django does, though a batch at a time, each sent before the
next is read (``send_response``); the hop gives back what its thread opened for the
view before it returns. A chain that raises past its exception handler (a
long poll cancelled because its client left) still sends ``request_finished`` in its
thread. The long polls the limit lets through unbounded keep a thread of their own
each, as before: they wait there for an async view on the loop, and must not take a
kept thread people's requests need. Thread-local state carried from one request to the
next in a kept thread is what a WSGI thread carries: the database connections, closed
(or kept for reuse by ``core/sqlite/idle.py``) when the hop ends; context variables
are copied for each request by ``sync_to_async``, as before.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from typing import Any, cast

import django
from asgiref.sync import ThreadSensitiveContext, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.exception import convert_exception_to_response
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.urls import set_script_prefix
from django.utils.module_loading import import_string

from opensspr.core import concurrency

#: Bytes of a synchronous streaming body read per hop into the request's thread.
STREAM_BATCH = 64 * 1024


def _next_batch(parts: Iterator[bytes]) -> list[bytes]:
    batch, size = [], 0
    for part in parts:
        batch.append(part)
        size += len(part)
        if size >= STREAM_BATCH:
            break
    return batch


async def _in_batches(parts: Iterator[bytes]) -> AsyncIterator[bytes]:
    """``parts``, read a batch at a time in the request's own thread (thread-sensitive:
    a server-side cursor stays on the connection, and the thread, that opened it)."""
    read = sync_to_async(_next_batch, thread_sensitive=True)
    while batch := await read(parts):
        for part in batch:
            yield part


def _async_only(path: str) -> bool:
    return not getattr(import_string(path), "sync_capable", True)


class _Sent(Exception):
    """Ends the task group once the response is out (the disconnect listener with it)."""


class _OneHop:
    """The sync part of the chain, called from the loop: one thread hop a request."""

    def __init__(self, sync_part: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.sync_part = sync_part
        self._pool: ThreadPoolExecutor | None = None
        self._kept: Callable[[HttpRequest], Awaitable[HttpResponseBase]] | None = None
        markcoroutinefunction(self)  # so the middleware above load in async mode

    def _run(self, request: HttpRequest) -> HttpResponseBase:
        signals.request_started.send(sender=AsgiHandler, scope=request.scope)  # type: ignore[attr-defined]  # an ASGIRequest
        try:
            response = self.sync_part(request)  # converts an ``Exception`` to a response
        except BaseException:  # a long poll cancelled as its client left, say
            signals.request_finished.send(sender=AsgiHandler)  # this thread's connections
            raise
        response._handler_class = AsgiHandler  # type: ignore[attr-defined]  # the signal's sender
        if response.streaming:
            # Read and closed in another thread (Django's ASGI handler): what this one
            # opened for the view goes back now, not at its next request.
            close_old_connections()
        else:  # the body is in memory: done with the request and the database
            response._resource_closers.append(request.close)  # type: ignore[attr-defined]  # as Django does
            response.close()
        return response

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path_info.startswith(concurrency.UNBOUNDED_PREFIXES):  # the request's own thread
            return await sync_to_async(self._run, thread_sensitive=True)(request)
        if self._kept is None:  # made in the worker, after the fork
            # Past ``request_threads`` (the slots and a few spares) they wait in its queue.
            size = concurrency.request_threads()
            self._pool = ThreadPoolExecutor(size, thread_name_prefix="opensspr-request")
            self._kept = sync_to_async(self._run, thread_sensitive=False, executor=self._pool)
        return await self._kept(request)


class AsgiHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        """The leading async-only middleware around one hop into the rest.

        Django's own loader builds the sync part (it reads ``settings.MIDDLEWARE``,
        set to the rest for that call: this runs once, as the application loads).
        """
        paths = list(settings.MIDDLEWARE)
        outer = 0
        while outer < len(paths) and _async_only(paths[outer]):
            outer += 1
        settings.MIDDLEWARE = paths[outer:]
        try:
            super().load_middleware(is_async=False)
        finally:
            settings.MIDDLEWARE = paths
        sync_part: Callable[..., Any] = self._middleware_chain  # type: ignore[has-type]  # untyped in the stubs
        handler: Callable[..., Any] = convert_exception_to_response(_OneHop(sync_part))
        for path in reversed(paths[:outer]):
            handler = convert_exception_to_response(import_string(path)(handler))
        self._middleware_chain = handler

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)  # Django's refusal
            return
        # Lazy: it starts a thread only if something asks for one (a streaming response's
        # iteration and close, a long poll), not for a request served by a kept thread.
        async with ThreadSensitiveContext():
            await self.handle(scope, receive, send)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Django's ``handle`` without its hops: the signals are sent by the hop."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        with closing(body_file):
            set_script_prefix(get_script_prefix(scope))
            request, error_response = self.create_request(scope, body_file)
            if request is None:  # refused before any middleware (a body too large, say)
                refused = cast(HttpResponseBase, error_response)  # one or the other is given
                await signals.request_started.asend(sender=self.__class__, scope=scope)
                await self.send_response(refused, send)
                await sync_to_async(refused.close)()
                return
            await self._answer(request, receive, send)

    async def send_response(self, response: HttpResponseBase, send: Any) -> None:
        """Django's, but a synchronous streaming body is sent as it is read.

        Django's ASGI handler reads such a body whole (``sync_to_async(list)``) before it
        sends a byte of it: a CSV export of a million people would sit in the worker's
        memory, and the first byte would wait for the last row. Read a batch at a time
        in the request's own thread instead, sending each batch before reading the next.
        """
        if isinstance(response, StreamingHttpResponse) and not response.is_async:
            parts = cast(Iterator[bytes], response.streaming_content)  # not async: a sync map
            response.streaming_content = _in_batches(parts)
        await super().send_response(response, send)

    async def _answer(self, request: HttpRequest, receive: Any, send: Any) -> None:
        """The response, sent; a streaming one closed after it, however its body ended
        (read to the end, the client gone, or an error raised by the body)."""
        response: HttpResponseBase | None = None
        try:
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(self.listen_for_disconnect(receive))
                    response = await self.run_get_response(request)
                    await self.send_response(response, send)
                    raise _Sent
            except* (_Sent, RequestAborted):
                pass
        except BaseExceptionGroup as errors:  # one error: raised as itself, as Django does
            if len(errors.exceptions) == 1:
                raise errors.exceptions[0] from None
            raise
        finally:  # also when the body raised mid-stream: request_finished, connection back
            if response is not None and response.streaming:
                await asyncio.shield(sync_to_async(response.close)())


def get_application() -> AsgiHandler:
    """``django.core.asgi.get_asgi_application``, with this handler."""
    django.setup(set_prefix=False)
    return AsgiHandler()
