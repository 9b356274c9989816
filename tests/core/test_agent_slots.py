"""An agent's answer is never kept out by the people's requests that wait for it.

A person's reset through an agent waits in its slot of the concurrency limit for the
agent's answer, which comes in as a request of its own (``core/concurrency.py``). Here
the limit is one slot, a person's request takes it and waits for an answer, and the
answer must still get in.
"""

import asyncio
import threading
import uuid
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path

from opensspr.core import concurrency
from opensspr.core.handler import AsgiHandler
from tests.core.asgi import http_scope

_answered = threading.Event()


def _waits_for_the_agent(request: HttpRequest) -> HttpResponse:
    got = _answered.wait(5)  # as a reset waits for its job's result
    return HttpResponse(b"written" if got else b"timed out")


def _agents_answer(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    _answered.set()
    return HttpResponse(b"thanks")


urlpatterns = [
    path("reset", _waits_for_the_agent),
    path("agent/v1/jobs/<uuid:job_id>/result", _agents_answer),
]


@pytest.fixture
def one_slot(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    _answered.clear()
    monkeypatch.setattr(concurrency, "_limit", 1)
    with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["testserver"]):
        yield


async def _body(communicator: ApplicationCommunicator) -> bytes:
    await communicator.receive_output(10)  # the start
    return (await communicator.receive_output(10))["body"]


@pytest.mark.django_db(transaction=True)
def test_an_agents_answer_gets_in_while_a_person_waits_for_it_in_the_only_slot(one_slot):
    handler = AsgiHandler()
    person = ApplicationCommunicator(handler, http_scope("/reset"))
    agent = ApplicationCommunicator(handler, http_scope(f"/agent/v1/jobs/{uuid.uuid4()}/result"))

    async def run() -> tuple[bytes, bytes]:
        await person.send_input({"type": "http.request", "body": b""})
        await asyncio.sleep(0.2)  # the person's request holds the slot, waiting
        await agent.send_input({"type": "http.request", "body": b""})
        return await _body(person), await _body(agent)

    assert async_to_sync(run)() == (b"written", b"thanks")
