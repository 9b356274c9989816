"""Under ``opensspr serve`` a request's sync part runs in a kept thread, in one hop.

``core/handler.py``: the thread that runs the chain also sends ``request_started`` and,
once the body is in memory, ``request_finished``; a streaming body is closed after its
last chunk; the agents' long poll keeps a thread of its own.
"""

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.core import signals
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.test import override_settings
from django.urls import path

from opensspr.core.handler import AsgiHandler

_seen: list[tuple[str, str]] = []  # (what, thread name), in order


def _where(what: str) -> None:
    _seen.append((what, threading.current_thread().name))


def _plain(request: HttpRequest) -> HttpResponse:
    _where("view")
    return HttpResponse(b"plain")


def _streamed(request: HttpRequest) -> StreamingHttpResponse:
    _where("view")

    def chunks() -> Iterator[bytes]:
        for n in range(3):
            _where("chunk")
            yield b"part %d;" % n

    return StreamingHttpResponse(chunks())


urlpatterns = [
    path("plain", _plain),
    path("streamed", _streamed),
    path("agent/v1/jobs/next", _plain),
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
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    communicator = ApplicationCommunicator(application, scope)

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

    assert [what for what, _ in watched] == ["started", "view", "finished"] * 6
    threads = {name for _, name in watched}
    assert all(name.startswith("opensspr-request") for name in threads), threads
    # each request's three in one thread: one hop
    for n in range(6):
        assert len({name for _, name in watched[3 * n : 3 * n + 3]}) == 1


@pytest.mark.django_db(transaction=True)
def test_a_streaming_response_is_finished_after_its_last_chunk(watched) -> None:
    assert _get(AsgiHandler(), "/streamed") == b"part 0;part 1;part 2;"

    assert [what for what, _ in watched] == [
        "started",
        "view",
        "chunk",
        "chunk",
        "chunk",
        "finished",
    ]


@pytest.mark.django_db(transaction=True)
def test_the_agents_long_poll_keeps_a_thread_of_its_own(watched) -> None:
    assert _get(AsgiHandler(), "/agent/v1/jobs/next") == b"plain"

    assert [what for what, _ in watched] == ["started", "view", "finished"]
    assert not any(name.startswith("opensspr-request") for _, name in watched)
