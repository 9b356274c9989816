"""Under ``opensspr serve`` a request's sync part runs in a kept thread, in one hop.

``core/handler.py``: the thread that runs the chain also sends ``request_started`` and,
once the body is in memory, closes the request and sends ``request_finished``; a
streaming body is closed after its last chunk, and the kept thread's database
connection goes back before that; the agents' long poll keeps a thread of its own,
and gives its connection back even when its client leaves mid-wait.
"""

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.core import signals
from django.db import connection
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.test import override_settings
from django.urls import path

from opensspr.core.handler import AsgiHandler
from tests.core.asgi import http_scope

_seen: list[tuple[str, str]] = []  # (what, thread name), in order


def _where(what: str) -> None:
    _seen.append((what, threading.current_thread().name))


def _open_connection() -> None:
    """Open this thread's connection, as a view that reads or audits does, and watch it.

    Watched by its ``close``: the test database may be in memory, which Django never
    really closes, so "given back" is "asked to close", in the thread that opened it.
    """
    connection.ensure_connection()
    wrapper = connection._connections[connection._alias]  # type: ignore[attr-defined]  # this thread's
    wrapper.close_at = time.monotonic()  # CONN_MAX_AGE 0, as `opensspr serve` sets it everywhere
    _watch_close(wrapper, "connection closed")


def _watch_close(target: Any, what: str) -> None:
    """Note ``what`` where ``target.close()`` is first called, then close it as before."""
    close = target.close

    def closing() -> None:
        _where(what)
        del target.close  # watched once
        close()

    target.close = closing


def _plain(request: HttpRequest) -> HttpResponse:
    _where("view")
    _watch_close(request, "request closed")
    return HttpResponse(b"plain")


def _streamed(request: HttpRequest) -> StreamingHttpResponse:
    _where("view")
    _open_connection()

    def chunks() -> Iterator[bytes]:
        for n in range(3):
            _where("chunk")
            yield b"part %d;" % n

    return StreamingHttpResponse(chunks())


PART = 40 * 1024
_sent: list[dict[str, Any]] = []  # what the application has sent so far


def _sent_bytes() -> int:
    return sum(len(message.get("body", b"")) for message in list(_sent))


def _export(request: HttpRequest) -> StreamingHttpResponse:
    def rows() -> Iterator[bytes]:
        for n in range(8):
            _where(f"part {n} after {_sent_bytes()}")
            yield bytes([65 + n]) * PART

    return StreamingHttpResponse(rows())


def _endless(request: HttpRequest) -> StreamingHttpResponse:
    def rows() -> Iterator[bytes]:
        _open_connection()
        try:
            for n in range(1000):
                _where(f"part {n}")
                yield b"x" * PART
        finally:
            _where("generator closed")

    return StreamingHttpResponse(rows())


def _failing(request: HttpRequest) -> StreamingHttpResponse:
    def rows() -> Iterator[bytes]:
        _open_connection()
        for n in range(4):
            _where(f"part {n}")
            yield b"y" * PART
        raise RuntimeError("the database went away mid-export")

    return StreamingHttpResponse(rows())


async def _long_poll(request: HttpRequest) -> HttpResponse:
    await sync_to_async(_open_connection)()
    _where("polling")
    await asyncio.sleep(30)  # until its client leaves
    return HttpResponse(b"no job")


urlpatterns = [
    path("plain", _plain),
    path("streamed", _streamed),
    path("export", _export),
    path("endless", _endless),
    path("failing", _failing),
    path("agent/v1/jobs/next", _plain),
    path("agent/v1/jobs/next/poll", _long_poll),
]


def _started(**kwargs: Any) -> None:
    _where("started")


def _finished(**kwargs: Any) -> None:
    _where("finished")


@pytest.fixture
def watched() -> Iterator[list[tuple[str, str]]]:
    _seen.clear()
    signals.request_started.connect(_started)
    signals.request_finished.connect(_finished)
    try:
        with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["testserver"]):
            yield _seen
    finally:
        signals.request_started.disconnect(_started)
        signals.request_finished.disconnect(_finished)


def _get(application: Any, url: str) -> bytes:
    communicator = ApplicationCommunicator(application, http_scope(url))

    async def run() -> bytes:
        await communicator.send_input({"type": "http.request", "body": b""})
        start = await communicator.receive_output(5)
        assert start["status"] == 200
        body = b""
        while True:
            message = await communicator.receive_output(5)
            body += message.get("body", b"")
            if not message.get("more_body"):
                await communicator.wait(5)  # the application has returned
                return body

    return async_to_sync(run)()


@pytest.mark.django_db(transaction=True)
def test_requests_run_in_kept_threads_with_their_signals(watched) -> None:
    handler = AsgiHandler()
    for _ in range(6):
        assert _get(handler, "/plain") == b"plain"

    assert [what for what, _ in watched] == ["started", "view", "request closed", "finished"] * 6
    threads = {name for _, name in watched}
    assert all(name.startswith("opensspr-request") for name in threads), threads
    assert len(threads) < 6, threads  # kept: one after another, they share threads
    for n in range(6):  # each request's four in one thread: one hop
        assert len({name for _, name in watched[4 * n : 4 * n + 4]}) == 1


@pytest.mark.django_db(transaction=True)
def test_a_streaming_response_is_finished_after_its_last_chunk(watched) -> None:
    assert _get(AsgiHandler(), "/streamed") == b"part 0;part 1;part 2;"

    what = ["started", "view", "connection closed", "chunk", "chunk", "chunk", "finished"]
    assert [w for w, _ in watched] == what
    view_thread = watched[1][1]
    assert view_thread.startswith("opensspr-request")
    assert watched[2][1] == view_thread  # the kept thread gave its connection back...
    assert watched[3][1] != view_thread  # ...as the body is read in a thread of the request's own


@pytest.mark.django_db(transaction=True)
def test_a_long_streaming_body_is_sent_as_it_is_read_not_held_whole(watched) -> None:
    """Django's ASGI handler read a sync stream into a list before sending any of it."""
    _sent.clear()

    async def run() -> None:
        requests: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        await requests.put({"type": "http.request", "body": b""})

        async def send(message: dict[str, Any]) -> None:
            _sent.append(message)

        await AsgiHandler()(http_scope("/export"), requests.get, send)

    async_to_sync(run)()
    assert _sent[0]["status"] == 200
    body = b"".join(message.get("body", b"") for message in _sent)
    assert body == b"".join(bytes([65 + n]) * PART for n in range(8))
    parts = [what for what, _ in watched if what.startswith("part")]
    assert len(parts) == 8
    # Read a batch (two parts) at a time: the first six were sent before the last was read.
    assert parts[-1] == f"part 7 after {6 * PART}", parts
    assert len({name for what, name in watched if what.startswith("part")}) == 1  # one thread


@pytest.mark.django_db(transaction=True)
def test_a_stream_whose_client_leaves_is_closed_in_its_thread(watched) -> None:
    async def run() -> None:
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        await inbox.put({"type": "http.request", "body": b""})
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if len(sent) == 5:  # the client leaves after a few parts
                await inbox.put({"type": "http.disconnect"})
            await asyncio.sleep(0)

        await asyncio.wait_for(AsgiHandler()(http_scope("/endless"), inbox.get, send), 10)

    async_to_sync(run)()
    whats = [what for what, _ in watched]
    assert len([what for what in whats if what.startswith("part")]) < 1000
    assert "generator closed" in whats and "connection closed" in whats
    assert whats[-1] == "finished"
    assert (
        len(
            {
                name
                for what, name in watched
                if what.startswith("part") or what == "generator closed"
            }
        )
        == 1
    )


@pytest.mark.django_db(transaction=True)
def test_a_stream_that_fails_midway_still_finishes_its_request(watched) -> None:
    """Its thread's connection goes back (on PostgreSQL: to the pool) and request_finished is sent."""

    async def run() -> None:
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        await inbox.put({"type": "http.request", "body": b""})

        async def send(message: dict[str, Any]) -> None:
            pass

        with pytest.raises(RuntimeError, match="mid-export"):
            await asyncio.wait_for(AsgiHandler()(http_scope("/failing"), inbox.get, send), 10)

    async_to_sync(run)()
    whats = [what for what, _ in watched]
    assert "connection closed" in whats
    assert whats[-1] == "finished"


@pytest.mark.django_db(transaction=True)
def test_the_agents_long_poll_keeps_a_thread_of_its_own(watched) -> None:
    assert _get(AsgiHandler(), "/agent/v1/jobs/next") == b"plain"

    assert [what for what, _ in watched] == ["started", "view", "request closed", "finished"]
    assert not any(name.startswith("opensspr-request") for _, name in watched)


@pytest.mark.django_db(transaction=True)
def test_a_long_poll_whose_client_leaves_gives_its_connection_back(watched) -> None:
    url = "/agent/v1/jobs/next/poll"
    communicator = ApplicationCommunicator(AsgiHandler(), http_scope(url))

    async def leave_while_it_waits() -> None:
        await communicator.send_input({"type": "http.request", "body": b""})
        while not any(what == "polling" for what, _ in _seen):
            await asyncio.sleep(0.01)
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(5)

    async_to_sync(leave_while_it_waits)()

    assert [what for what, _ in watched] == ["started", "polling", "connection closed", "finished"]
    threads = {name for what, name in watched if what != "polling"}  # it polls on the loop
    assert len(threads) == 1  # the poll's own thread, given back there
    assert not threads.pop().startswith("opensspr-request")
