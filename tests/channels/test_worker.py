"""Workers: atomic claims under concurrency, crash recovery, the loop and the command."""

import os
import signal
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from opensspr.audit.models import AuditEvent
from opensspr.channels import Message, MessageKind, MessageStatus, deliver_due, enqueue_message
from opensspr.channels.checks import check_delivery
from opensspr.channels.conf import CLAIM_LEASE
from opensspr.channels.worker import run_worker
from tests.channels.conftest import outgoing
from tests.concurrency import race

BOUNDED = 30  # seconds a thread in these tests may take at most


def _run_in_threads(count: int, target) -> list[BaseException]:
    return [o for o in race(*[target] * count) if isinstance(o, BaseException)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_send_each_message_exactly_once(
    configure, smtp_server, meta, worker_mode
):
    if connection.vendor == "sqlite":
        pytest.skip(
            "the in-memory SQLite test database is shared-cache: a second writer gets "
            "'table is locked' instead of waiting, so this only measures the test set-up"
        )
    configure(email="smtp")
    queued = [enqueue_message(outgoing(to=f"p{n}@mail.example"), meta=meta) for n in range(40)]
    attempted: list[int] = []

    def drain() -> None:
        while (n := deliver_due(limit=3)) > 0:
            attempted.append(n)

    assert _run_in_threads(4, drain) == []
    recipients = sorted(r for m in smtp_server.delivered for r in m["to"])
    assert recipients == sorted(m.recipient for m in queued)  # each exactly once
    assert sum(attempted) == 40
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    assert AuditEvent.objects.filter(activity="delivery.sent").count() == 40


@pytest.mark.django_db
def test_a_claim_is_taken_once_even_when_two_claimers_saw_it_pending(meta, worker_mode, clock):
    """The conditional UPDATE is the guard on every database (SQLite included)."""
    from opensspr.channels.delivery import _claim, claim_next, claim_one

    message = enqueue_message(outgoing(), meta=meta)
    assert claim_next(clock.now) == message.pk
    assert claim_next(clock.now) is None
    assert claim_one(message.pk, clock.now) is None
    # The UPDATE itself refuses a taken row.
    assert _claim(message.pk, clock.now, None, due_only=False) is None


def _left_sending_by_a_dead_worker(message, clock, *, attempts: int = 1) -> None:
    """The row a worker killed mid-send leaves: claimed, its attempt counted, never finished."""
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING, claimed_at=clock.now, attempts=attempts, provider="smtp"
    )


@pytest.mark.django_db
def test_a_notification_left_sending_by_a_dead_worker_is_sent_again(
    configure, smtp_server, meta, worker_mode, clock
):
    """Issue 12 item 8: "your password was reset" must never be lost; a duplicate may happen."""
    configure(email="smtp")
    message = enqueue_message(outgoing(purpose="reset.notification"), meta=meta)
    _left_sending_by_a_dead_worker(message, clock)
    clock.advance(seconds=CLAIM_LEASE.total_seconds())
    assert deliver_due() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 2
    assert [m["to"] for m in smtp_server.delivered] == [[message.recipient]]
    retry = AuditEvent.objects.get(activity="delivery.retry_scheduled")
    assert retry.reason == "worker_lost" and retry.details["maybe_sent"] is True


@pytest.mark.django_db
@pytest.mark.usefixtures("worker_mode")
def test_a_notification_that_kills_every_worker_stops_after_the_attempt_budget(
    configure, smtp_server, meta, clock, settings
):
    settings.OPENSSPR_DELIVERY_MAX_ATTEMPTS = 3
    configure(email="smtp")
    message = enqueue_message(outgoing(purpose="reset.notification"), meta=meta)
    _left_sending_by_a_dead_worker(message, clock, attempts=3)
    clock.advance(seconds=CLAIM_LEASE.total_seconds())
    deliver_due()
    message.refresh_from_db()
    assert message.status == MessageStatus.UNCERTAIN and message.last_error == "worker_lost"
    assert smtp_server.handler.attempts == 0


@pytest.mark.django_db
def test_a_code_left_sending_by_a_dead_worker_is_not_sent_again(
    configure, smtp_server, meta, worker_mode, clock
):
    """A code expires: resending it late would only confuse; the person asks for a new one."""
    configure(email="smtp")
    message = enqueue_message(outgoing(expires_at=clock.now + timedelta(minutes=15)), meta=meta)
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING, claimed_at=clock.now, attempts=1, provider="smtp"
    )  # what a worker killed mid-send leaves behind
    clock.advance(seconds=CLAIM_LEASE.total_seconds() - 1)
    deliver_due()
    assert Message.objects.get(pk=message.pk).status == MessageStatus.SENDING
    clock.advance(seconds=1)
    deliver_due()
    message.refresh_from_db()
    assert message.status == MessageStatus.UNCERTAIN
    assert message.last_error == "worker_lost"
    assert message.body_sealed == ""
    assert smtp_server.handler.attempts == 0


@pytest.mark.django_db
def test_a_dead_workers_message_is_requeued_when_the_channel_deduplicates(
    configure, sms_gateway, meta, worker_mode, clock
):
    configure(sms="webhook_sms", webhook_url=sms_gateway.url)
    message = enqueue_message(outgoing(MessageKind.SMS), meta=meta)
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING, claimed_at=clock.now, attempts=1, provider="webhook_sms"
    )
    clock.advance(seconds=CLAIM_LEASE.total_seconds())
    assert deliver_due() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert len(sms_gateway.unique_deliveries()) == 1


@pytest.mark.django_db
def test_worker_once_delivers_what_is_due(meta, worker_mode, capsys):
    message = enqueue_message(outgoing(), meta=meta)
    call_command("worker", "--once")
    assert "1 message(s) attempted." in capsys.readouterr().out
    assert Message.objects.get(pk=message.pk).status == MessageStatus.SENT


@pytest.mark.django_db(transaction=True)
def test_the_loop_delivers_and_stops_when_told(configure, smtp_server, meta, worker_mode):
    """The test thread watches the SMTP server, not the database, while the worker runs.

    The SQLite test database is in memory with a shared cache: there a read while
    another connection writes fails at once with "database table is locked" (table
    locks ignore the busy timeout), which made this test fail now and then.
    """
    configure(email="smtp")
    message = enqueue_message(outgoing(), meta=meta)
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(stop,), kwargs={"interval": 0.05})
    worker.start()
    try:
        for _ in range(200):  # bounded poll (10 s at most) of a real thread
            if smtp_server.delivered:
                break
            stop.wait(0.05)
    finally:  # a failing test must not leave the loop running into the next one
        stop.set()
        worker.join(BOUNDED)
    assert not worker.is_alive()
    assert Message.objects.get(pk=message.pk).status == MessageStatus.SENT


@pytest.mark.django_db(transaction=True)
def test_the_worker_command_exits_cleanly_on_sigterm(worker_mode):
    previous = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        call_command("worker", "--interval", "0.05")  # returns only if SIGTERM stopped it
    finally:
        timer.cancel()
        timer.join(BOUNDED)
    assert signal.getsignal(signal.SIGTERM) is previous  # handlers restored


@pytest.mark.django_db
def test_a_stopping_worker_finishes_the_message_in_hand_and_claims_no_more(meta, worker_mode):
    queued = [enqueue_message(outgoing(), meta=meta) for _ in range(3)]
    asked = []

    def should_stop() -> bool:
        asked.append(True)
        return len(asked) > 1  # SIGTERM arrives while the first message is being sent

    assert deliver_due(should_stop=should_stop) == 1
    statuses = [Message.objects.get(pk=m.pk).status for m in queued]
    assert statuses == [MessageStatus.SENT, MessageStatus.PENDING, MessageStatus.PENDING]


@pytest.mark.django_db
def test_a_failing_loop_iteration_does_not_kill_the_worker(monkeypatch, caplog):
    calls = []

    def flaky(*, limit: int, should_stop) -> int:
        calls.append(limit)
        if len(calls) == 1:
            raise ConnectionError("database restarting")
        stop.set()
        return 0

    stop = threading.Event()
    monkeypatch.setattr("opensspr.channels.worker.deliver_due", flaky)
    monkeypatch.setattr("opensspr.channels.worker.close_old_connections", lambda: None)
    run_worker(stop, interval=0)
    assert len(calls) == 2
    assert "iteration failed: ConnectionError" in caplog.text
    assert "database restarting" not in caplog.text


def test_an_unknown_delivery_mode_fails_the_system_checks(settings):
    settings.OPENSSPR_DELIVERY_MODE = "carrier-pigeon"
    assert "opensspr.channels.E001" in [m.id for m in check_delivery()]


def test_the_outbox_page_on_a_public_host_raises_a_warning(settings):
    settings.OPENSSPR_OUTBOX_PAGE = True
    settings.OPENSSPR_BASE_URL = "https://sspr.contoso.example"
    assert "opensspr.channels.W001" in [m.id for m in check_delivery()]
    settings.OPENSSPR_BASE_URL = "http://127.0.0.1:8000"
    assert "opensspr.channels.W001" not in [m.id for m in check_delivery()]


@pytest.mark.django_db
def test_expiry_is_checked_again_right_before_sending(meta, worker_mode, clock):
    from opensspr.channels.delivery import claim_next_with_channel, deliver_claimed

    message = enqueue_message(outgoing(expires_at=clock.now + timedelta(seconds=5)), meta=meta)
    claimed, _channel = claim_next_with_channel(clock.now, {})
    clock.advance(seconds=5)  # the claim was slow
    deliver_claimed(claimed, meta=None)
    assert Message.objects.get(pk=message.pk).status == MessageStatus.EXPIRED


@pytest.mark.django_db
@pytest.mark.usefixtures("worker_mode")
def test_a_failing_periodic_work_holds_up_neither_the_others_nor_the_deliveries(
    meta, monkeypatch, caplog
):
    from opensspr.channels import services

    ran = []

    def broken() -> None:
        raise ConnectionError("directory down")

    def counting() -> None:
        ran.append(1)

    monkeypatch.setattr(services, "_due_work", [broken, counting])
    enqueue_message(outgoing(body="Your password was changed."), meta=meta)
    with caplog.at_level("ERROR", logger="opensspr.channels.services"):
        assert deliver_due() == 1
    assert ran == [1]
    assert Message.objects.get().status == MessageStatus.SENT
    assert "periodic work" in caplog.text and "broken" in caplog.text
    assert "directory down" not in caplog.text  # class names only, never a message
