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
    services.delivery_loop_running.set()  # as ``opensspr serve`` has it
    release, taken = threading.Event(), []

    def held(message_id, kind, meta, *, close_connection):
        taken.append(message_id)
        release.wait(WAIT)

    monkeypatch.setattr(services, "_deliver_now", held)
    yield release, taken
    services.delivery_loop_running.clear()
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
    with caplog.at_level(logging.WARNING, logger="opensspr.channels.services"):
        release.set()
        assert _drained()
    down = [r.getMessage() for r in caplog.records if "down to half" in r.getMessage()]
    assert len(down) == 1 and "3 messages went to the delivery loop" in down[0]
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


def test_without_a_delivery_loop_in_the_process_every_message_goes_inline(
    held_threads, meta, django_capture_on_commit_callbacks
):
    """Served by something other than ``opensspr serve``, nothing else would send it."""
    release, taken = held_threads
    services.delivery_loop_running.clear()
    for _ in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            enqueue_message(outgoing(), meta=meta)
    release.set()
    deadline = time.monotonic() + WAIT
    while len(taken) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(taken) == 5
    assert services._backlog.count == 0  # not counted: no bound without the loop


def test_a_send_the_threads_cannot_take_gives_its_place_back(
    held_threads, meta, monkeypatch, django_capture_on_commit_callbacks
):
    """An executor shutting down refuses the job: the place it took is given back."""

    def refused(*args, **kwargs):
        raise RuntimeError("cannot schedule new futures after shutdown")

    monkeypatch.setattr(services._background, "submit", refused)
    for _ in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            enqueue_message(outgoing(), meta=meta)  # on_commit(robust=True) logs it
    assert services._backlog.count == 0
    assert Message.objects.filter(status=MessageStatus.PENDING).count() == 5


@pytest.fixture
def runs_asked(settings, monkeypatch) -> list[dict[str, object]]:
    """The runs of the registered work handed to the background threads (none is run)."""
    settings.OPENSSPR_INLINE_DELIVERY_IN_BACKGROUND = True
    submitted: list[dict[str, object]] = []
    monkeypatch.setattr(services._background, "submit", lambda *a, **k: submitted.append(k))
    yield submitted
    services._due_work_waiting.clear()
    services.delivery_loop_running.clear()


def test_runs_of_the_registered_work_asked_for_meanwhile_are_one_run(runs_asked):
    """Each helpdesk commit asks for a run; one waiting run sees all their rows, and the
    delivery loop, each second, what is past its batch."""
    services.delivery_loop_running.set()
    for _ in range(3):
        services._due_work_soon()
    assert len(runs_asked) == 1
    services._run_due_work(close_connection=False, waited=True)  # the waiting run starts
    services._due_work_soon()  # a commit from now on: its rows may come after the run's read
    assert len(runs_asked) == 2


def test_without_a_delivery_loop_each_commit_gets_a_run_of_its_own(runs_asked):
    for _ in range(3):
        services._due_work_soon()
    assert len(runs_asked) == 3
