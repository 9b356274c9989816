"""Under ASGI the response floor and the concurrency limit really run async.

Django runs a middleware that can do both in the mode of the one below it; with a
sync-only middleware lower down, a floor declared "both" was slept in a thread and
the limit bounded nothing. This loads the middleware as ``opensspr serve`` does
(``core/handler.py``: the rest of the chain sync, in one thread hop).
"""

import asyncio
import logging
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from asgiref.testing import ApplicationCommunicator
from django.http import StreamingHttpResponse

from opensspr.core import concurrency
from opensspr.core.concurrency import ConcurrencyLimitMiddleware
from opensspr.core.handler import AsgiHandler
from opensspr.core.timing import ResponseFloorMiddleware
from tests.core.asgi import http_scope


def _chain(handler: Any) -> list[Any]:
    """Every middleware instance of the loaded chain, outermost first."""
    found, seen, todo = [], set(), [handler._middleware_chain]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (ResponseFloorMiddleware, ConcurrencyLimitMiddleware)):
            found.append(item)
        todo += [getattr(item, name, None) for name in ("__wrapped__", "func", "get_response")]
    return found


def test_the_floor_and_the_limit_run_async_under_asgi():
    handler = AsgiHandler()  # loads MIDDLEWARE as under `opensspr serve`
    found = _chain(handler)
    assert {type(m) for m in found} == {ResponseFloorMiddleware, ConcurrencyLimitMiddleware}
    assert all(m.is_async for m in found)


def test_the_rest_of_the_chain_is_loaded_sync_under_asgi() -> None:
    handler = AsgiHandler()
    assert handler._view_middleware  # CSRF's process_view, among others
    assert not any(iscoroutinefunction(hook) for hook in handler._view_middleware)


def _get(application: Any, path: str) -> tuple[int, dict[bytes, bytes]]:
    communicator = ApplicationCommunicator(application, http_scope(path))

    async def run() -> tuple[int, dict[bytes, bytes]]:
        await communicator.send_input({"type": "http.request", "body": b""})
        start = await communicator.receive_output(5)
        await communicator.receive_output(5)  # the body
        return start["status"], dict(start["headers"])

    return async_to_sync(run)()


@pytest.mark.django_db(transaction=True)
def test_a_request_runs_the_whole_chain_and_the_view() -> None:
    status, headers = _get(AsgiHandler(), "/healthz")

    assert status == 200
    assert headers[b"X-Frame-Options"] == b"DENY"  # the innermost middleware ran
    assert headers[b"Content-Language"] == b"en"  # the language middleware
    assert headers[b"X-Request-ID"]  # and the outermost sync one


def test_a_request_whose_client_left_keeps_its_slot_until_its_view_ends():
    """The handler cancels a request whose client disconnected; its view runs on in a
    thread. Giving its slot back at once let more views run than the limit."""
    limit = concurrency.limit()
    concurrency.set_limit(1)
    release, started = threading.Event(), []

    def view(request: SimpleNamespace) -> str:
        started.append(request.path_info)
        release.wait(10)
        return request.path_info

    async def get_response(request: SimpleNamespace) -> str:
        return await asyncio.to_thread(view, request)

    async def scenario() -> None:
        middleware = ConcurrencyLimitMiddleware(get_response)
        left = asyncio.ensure_future(middleware(SimpleNamespace(path_info="/api/v1/resets")))
        while not started:
            await asyncio.sleep(0.01)
        left.cancel()  # the client left: the view goes on in its thread
        await asyncio.sleep(0.05)
        second = SimpleNamespace(path_info="/api/v1/resets/current")
        waiting = asyncio.ensure_future(middleware(second))
        await asyncio.sleep(0.2)
        assert started == ["/api/v1/resets"]  # not admitted while the first view runs
        release.set()
        assert await waiting == "/api/v1/resets/current"
        with pytest.raises(asyncio.CancelledError):
            await left

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        concurrency.set_limit(limit)


def test_what_the_view_of_a_request_whose_client_left_came_to_is_settled(caplog):
    """Its error is logged by us, not left to asyncio as never retrieved; a streamed body it
    returned is closed (its file, its query), as the handler would after sending it."""
    release, closed = threading.Event(), []

    def view(request: SimpleNamespace) -> StreamingHttpResponse:
        release.wait(10)
        if request.path_info == "/fails":
            raise RuntimeError("a bug")
        response = StreamingHttpResponse(iter([b"never sent"]))
        response._resource_closers.append(lambda: closed.append(request.path_info))
        return response

    async def get_response(request: SimpleNamespace) -> StreamingHttpResponse:
        return await asyncio.to_thread(view, request)

    async def left_while(path: str) -> None:
        release.clear()
        middleware = ConcurrencyLimitMiddleware(get_response)
        request = asyncio.ensure_future(middleware(SimpleNamespace(path_info=path)))
        await asyncio.sleep(0.05)
        request.cancel()  # the client left
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await request

    try:
        with caplog.at_level(logging.ERROR, logger="opensspr.core.concurrency"):
            asyncio.run(left_while("/fails"))
            asyncio.run(left_while("/streams"))
    finally:
        release.set()
    assert [r.getMessage() for r in caplog.records if r.name == "opensspr.core.concurrency"] == [
        "a request whose client left failed: RuntimeError"
    ]
    assert closed == ["/streams"]
