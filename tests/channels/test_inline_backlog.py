"""Inline sends waiting for the background threads are bounded; the rest wait in the database.

A burst of codes, or a provider answering slowly, used to queue one job per message in
the process's memory with no end. Past ``INLINE_BACKLOG`` a message stays ``pending``
for the delivery loop instead: nothing is lost, nothing is sent twice.
"""

import logging
import threading
import time

import pytest

from opensspr.channels import Message, MessageStatus, deliver_due, enqueue_message, services
from tests.channels.conftest import outgoing

pytestmark = pytest.mark.django_db
WAIT = 10.0


@pytest.fixture
def held_threads(settings, monkeypatch):
    """The background threads take inline sends and hold them until ``release`` is set."""
    settings.OPENSSPR_INLINE_DELIVERY_IN_BACKGROUND = True
    monkeypatch.setattr(services, "INLINE_BACKLOG", 3)
    release, taken = threading.Event(), []

    def held(message_id, kind, meta, *, close_connection):
        taken.append(message_id)
        release.wait(WAIT)

    monkeypatch.setattr(services, "_deliver_now", held)
    yield release, taken
    release.set()
    assert _drained()  # the next test starts with an empty backlog


def _drained(timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while services._backlog.count and time.monotonic() < deadline:
        time.sleep(0.01)
    return services._backlog.count == 0


def test_past_the_backlog_messages_wait_in_the_database_for_the_delivery_loop(
    held_threads, meta, django_capture_on_commit_callbacks, caplog
):
    release, _taken = held_threads
    with caplog.at_level(logging.WARNING, logger="opensspr.channels.services"):
        for _ in range(6):
            with django_capture_on_commit_callbacks(execute=True):
                enqueue_message(outgoing(), meta=meta)
    assert services._backlog.count == 3  # two held by the threads, one waiting for them
    full = [r for r in caplog.records if "sends waiting already" in r.getMessage()]
    assert len(full) == 1  # said once, not for each of the three turned away
    release.set()
    assert _drained()
    # The held sends didn't send (the threads were stand-ins): all six are still pending,
    # and the loop sends every one, those turned away included, each once.
    assert Message.objects.filter(status=MessageStatus.PENDING).count() == 6
    assert deliver_due() == 6
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}


def test_a_drained_backlog_takes_inline_sends_again(
    held_threads, meta, django_capture_on_commit_callbacks
):
    release, taken = held_threads
    for _ in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            enqueue_message(outgoing(), meta=meta)
    release.set()
    assert _drained()
    with django_capture_on_commit_callbacks(execute=True):
        last = enqueue_message(outgoing(), meta=meta)
    assert _drained()
    assert taken[-1] == last.pk
    assert len(taken) == 4  # three from the burst, then the one after it drained
