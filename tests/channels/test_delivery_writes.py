"""One delivery writes its row twice, the claim and the outcome: the claim names the provider.

Each write outside a transaction takes the process's writer lock on SQLite
(``core/sqlite/base.py``), and two messages go out inline per reset, so a write
per message shows in a reset storm. The provider used to be written on its own
between the claim and the send, to leave a trace if the process died mid-send;
the claiming UPDATE now carries it, so the trace is there from the claim on.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opensspr.audit.models import AuditEvent
from opensspr.channels import Message, MessageKind, MessageStatus, deliver_due, enqueue_message
from opensspr.channels.delivery import claim_next
from opensspr.channels.models import ChannelSettings
from opensspr.channels.providers.outbox import OutboxChannel
from tests.channels.conftest import outgoing

pytestmark = pytest.mark.django_db

#: Data statements of one inline delivery through the outbox (transaction control,
#: which differs between the engines and the test's own transaction, left out): the
#: channel settings read, the claim (which returns the row it claimed), the outcome and its
#: audit event. 6 while the provider was written between the claim and the send, 5 while
#: the claimed row was read by a statement of its own.
MAX_STATEMENTS = 4
_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK", "BEGIN", "COMMIT")
_WRITES = ("UPDATE", "INSERT", "DELETE")


def _data_statements(queries: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"]
        for query in queries.captured_queries
        if not query["sql"].lstrip().upper().startswith(_TRANSACTION_CONTROL)
    ]


def _message_writes(statements: list[str]) -> list[str]:
    return [
        sql
        for sql in statements
        if sql.lstrip().upper().startswith(_WRITES) and '"channels_message"' in sql
    ]


@pytest.fixture
def rows_seen_by_send(monkeypatch) -> list[tuple[str, str]]:
    """(status, provider) of the row as the database holds it when the outbox sends."""
    seen: list[tuple[str, str]] = []
    send = OutboxChannel.send

    def looking(self, message, plaintext_body):
        seen.append(Message.objects.values_list("status", "provider").get(pk=message.pk))
        return send(self, message, plaintext_body)

    monkeypatch.setattr(OutboxChannel, "send", looking)
    return seen


def test_an_inline_delivery_writes_its_row_only_to_claim_it_and_to_record_the_outcome(
    meta, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        message = enqueue_message(outgoing(), meta=meta)
    with CaptureQueriesContext(connection) as queries:
        for callback in callbacks:  # the inline delivery queued for after the commit
            callback()
    statements = _data_statements(queries)
    writes = _message_writes(statements)
    assert len(writes) == 2, writes
    claim, outcome = writes
    assert "'sending'" in claim and '"provider"' in claim
    assert "'sent'" in outcome
    assert len(statements) <= MAX_STATEMENTS, statements
    message.refresh_from_db()
    assert (message.status, message.provider) == (MessageStatus.SENT, "outbox")


def test_the_row_names_its_provider_before_the_send_when_inline(
    meta, rows_seen_by_send, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_message(outgoing(), meta=meta)
    assert rows_seen_by_send == [(MessageStatus.SENDING, "outbox")]
    assert AuditEvent.objects.get(activity="delivery.sent").details["provider"] == "outbox"


@pytest.mark.usefixtures("worker_mode")
def test_the_row_names_its_provider_before_the_send_when_a_worker_sends(meta, rows_seen_by_send):
    enqueue_message(outgoing(MessageKind.SMS), meta=meta)
    assert deliver_due() == 1
    assert rows_seen_by_send == [(MessageStatus.SENDING, "outbox")]
    assert AuditEvent.objects.get(activity="delivery.sent").details["provider"] == "outbox"


@pytest.mark.usefixtures("worker_mode")
def test_a_row_claimed_by_a_worker_names_its_provider_before_anything_is_sent(
    configure, smtp_server, meta, clock
):
    """What a worker killed right after its claim leaves: housekeeping judges by the provider."""
    configure(email="smtp")
    message = enqueue_message(outgoing(purpose="reset.notification"), meta=meta)
    assert claim_next(clock.now) == message.pk
    message.refresh_from_db()
    assert (message.status, message.provider) == (MessageStatus.SENDING, "smtp")
    assert smtp_server.handler.attempts == 0


def test_a_message_whose_channel_is_unknown_is_failed_without_a_provider_when_inline(
    meta, django_capture_on_commit_callbacks
):
    ChannelSettings.objects.update_or_create(pk=1, defaults={"email_channel": "removed_provider"})
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue_message(outgoing(), meta=meta)
    message.refresh_from_db()
    assert (message.status, message.last_error) == (MessageStatus.FAILED, "unknown_channel")
    assert (message.attempts, message.provider, message.body_sealed) == (1, "", "")
    failed = AuditEvent.objects.get(activity="delivery.failed")
    assert (failed.reason, failed.details["provider"]) == ("unknown_channel", "")


def test_undecryptable_channel_settings_schedule_a_retry_when_inline(
    configure, sms_gateway, meta, clock, django_capture_on_commit_callbacks
):
    configure(sms="webhook_sms", webhook_url=sms_gateway.url + "/sms")
    ChannelSettings.objects.filter(pk=1).update(webhook_secret_sealed="sealed-under-an-old-key")
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue_message(outgoing(MessageKind.SMS), meta=meta)
    message.refresh_from_db()
    assert (message.status, message.last_error) == (
        MessageStatus.PENDING,
        "channel_settings_undecryptable",
    )
    assert (message.attempts, message.provider) == (1, "")
    assert message.next_attempt_at == clock.now + timedelta(minutes=1)
    retry = AuditEvent.objects.get(activity="delivery.retry_scheduled")
    assert (retry.reason, retry.details["provider"]) == ("channel_settings_undecryptable", "")
    assert sms_gateway.requests == []


def test_a_message_expired_before_its_claim_is_finished_without_a_provider_when_inline(
    meta, clock, rows_seen_by_send, django_capture_on_commit_callbacks
):
    """It goes nowhere: the claim names no provider, as when the name was written after the
    expiry check."""
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue_message(outgoing(expires_at=clock.now - timedelta(seconds=1)), meta=meta)
    message.refresh_from_db()
    assert (message.status, message.provider, message.body_sealed) == (
        MessageStatus.EXPIRED,
        "",
        "",
    )
    assert rows_seen_by_send == []
    expired = AuditEvent.objects.get(activity="delivery.expired")
    assert (expired.reason, expired.details["provider"]) == ("expired", "")


@pytest.mark.usefixtures("worker_mode")
def test_a_worker_batch_reads_the_channel_settings_once_per_kind(meta):
    """Each message read them twice (to name the provider in the claim, then to send)."""
    for n in range(3):
        enqueue_message(outgoing(MessageKind.SMS, idempotency_key=f"batch:{n}"), meta=meta)
    table = ChannelSettings._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        assert deliver_due() == 3
    reads = [q["sql"] for q in queries.captured_queries if f'FROM "{table}"' in q["sql"]]
    assert len(reads) == 1
    assert Message.objects.filter(status=MessageStatus.SENT, provider="outbox").count() == 3
