"""Queuing: written in the caller's transaction, idempotent, sent after commit and never on rollback."""

import pytest
from django.db import transaction

from opensspr.audit.activities import Activity
from opensspr.audit.models import AuditEvent, Outcome
from opensspr.audit.services import record_event, written_together
from opensspr.channels import (
    InvalidMessageError,
    Message,
    MessageKind,
    MessageStatus,
    deliver_due,
    enqueue_message,
    list_outbox,
)
from opensspr.channels.delivery import backoff
from tests.channels.conftest import outgoing


class Boom(Exception):
    pass


@pytest.mark.django_db
def test_enqueue_twice_with_one_key_is_a_no_op_returning_the_first_row(meta, worker_mode):
    first = enqueue_message(outgoing(idempotency_key="reset:42:code:1"), meta=meta)
    again = enqueue_message(
        outgoing(idempotency_key="reset:42:code:1", body="something else"), meta=meta
    )
    assert again.pk == first.pk
    assert Message.objects.count() == 1
    assert again.plaintext_body() == first.plaintext_body()
    assert AuditEvent.objects.filter(activity="delivery.queued").count() == 1
    assert deliver_due() == 1
    assert deliver_due() == 0


@pytest.mark.django_db
def test_a_repeated_key_among_events_written_together_leaves_one_event(meta, worker_mode):
    """The savepoint a repeated key rolls back holds no event: the batch writes only the
    first queuing's and the caller's own."""
    with transaction.atomic(), written_together():
        enqueue_message(outgoing(idempotency_key="reset:42:done"), meta=meta)
        enqueue_message(outgoing(idempotency_key="reset:42:done"), meta=meta)
        record_event(activity=Activity.RESET_COMPLETED, outcome=Outcome.SUCCESS, meta=meta)
        assert not AuditEvent.objects.exists()  # nothing written before the block ends
    written = list(AuditEvent.objects.order_by("pk").values_list("activity", flat=True))
    assert written == ["delivery.queued", "reset.completed"]


@pytest.mark.django_db
def test_events_written_together_are_dropped_with_a_block_that_fails(meta, worker_mode):
    def queue_then_fail() -> None:
        with transaction.atomic(), written_together():
            enqueue_message(outgoing(), meta=meta)
            raise Boom

    with pytest.raises(Boom):
        queue_then_fail()
    assert not AuditEvent.objects.exists() and not Message.objects.exists()


@pytest.mark.django_db
def test_enqueued_row_holds_the_body_only_sealed(meta, worker_mode):
    message = enqueue_message(outgoing(body="Your code is 918273."), meta=meta)
    message.refresh_from_db()
    assert "918273" not in message.body_sealed
    assert message.plaintext_body() == "Your code is 918273."
    assert message.recipient_masked.startswith("p•••@mail.example")
    assert message.status == MessageStatus.PENDING
    assert message.correlation_id == meta.correlation_id


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"subject": "Code\r\nBcc: victim@evil.example"}, "invalid_subject"),
        ({"to": "someone@evil.example\r\nBcc: x@y.example"}, "invalid_email_address"),
        ({"to": "not-an-address"}, "invalid_email_address"),
        ({"body": ""}, "empty_body"),
        ({"purpose": "Reset Code!"}, "invalid_purpose"),
    ],
)
@pytest.mark.django_db
def test_enqueue_refuses_a_message_that_must_not_be_sent(meta, fields, code):
    with pytest.raises(InvalidMessageError) as caught:
        enqueue_message(outgoing(**fields), meta=meta)
    assert caught.value.code == code
    assert not Message.objects.exists()


@pytest.mark.parametrize("number", ["0612345678", "+31 6 12345678", "+0123456789", "31612345678"])
@pytest.mark.django_db
def test_sms_needs_an_e164_number(meta, number):
    with pytest.raises(InvalidMessageError):
        enqueue_message(outgoing(MessageKind.SMS, to=number), meta=meta)


@pytest.mark.django_db
def test_voice_needs_a_callback_token_that_fits_a_url(meta):
    with pytest.raises(InvalidMessageError):
        enqueue_message(
            outgoing(MessageKind.VOICE, voice_callback_token="../../etc/passwd"), meta=meta
        )


@pytest.mark.django_db(transaction=True)
def test_inline_delivery_happens_when_the_caller_commits(meta, configure, smtp_server):
    configure(email="smtp")
    with transaction.atomic():
        message = enqueue_message(outgoing(to="ann@mail.example"), meta=meta)
        assert smtp_server.handler.attempts == 0
        assert Message.objects.get(pk=message.pk).status == MessageStatus.PENDING
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert [m["to"] for m in smtp_server.delivered] == [["ann@mail.example"]]
    assert message.body_sealed == ""


@pytest.mark.django_db(transaction=True)
def test_nothing_is_queued_or_sent_when_the_caller_rolls_back(meta, configure, smtp_server):
    configure(email="smtp")

    def queue_then_fail() -> None:
        with transaction.atomic():
            enqueue_message(outgoing(), meta=meta)
            raise Boom

    with pytest.raises(Boom):
        queue_then_fail()
    assert not Message.objects.exists()
    assert not AuditEvent.objects.filter(activity__startswith="delivery.").exists()
    assert smtp_server.handler.attempts == 0


@pytest.mark.django_db(transaction=True)
def test_worker_mode_leaves_the_message_pending_until_deliver_due(meta, worker_mode):
    with transaction.atomic():
        message = enqueue_message(outgoing(MessageKind.SMS), meta=meta)
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING
    assert list(list_outbox()) == []
    assert deliver_due() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert list(list_outbox(kind="sms")) == [message]


@pytest.mark.django_db
def test_inline_delivery_audits_with_the_callers_request_meta(
    meta, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_message(outgoing(), meta=meta)
    sent = AuditEvent.objects.get(activity="delivery.sent")
    assert sent.ip_address == meta.ip_address
    assert sent.correlation_id == meta.correlation_id
    assert sent.details["provider"] == "outbox"
    assert sent.details["attempt"] == 1


def test_backoff_doubles_from_one_minute_and_stops_at_thirty():
    assert [backoff(n).total_seconds() / 60 for n in range(1, 9)] == [1, 2, 4, 8, 16, 30, 30, 30]


@pytest.mark.django_db
def test_a_channel_key_nobody_provides_fails_the_message_visibly(meta, worker_mode):
    from opensspr.channels.models import ChannelSettings

    ChannelSettings.objects.filter(pk=1).update(email_channel="removed_provider")
    message = enqueue_message(outgoing(), meta=meta)
    deliver_due()
    message.refresh_from_db()
    assert (message.status, message.last_error) == (MessageStatus.FAILED, "unknown_channel")
    assert message.body_sealed == ""
    assert list(list_outbox()) == []


@pytest.mark.django_db
def test_an_idempotency_key_longer_than_the_column_is_refused(meta):
    with pytest.raises(InvalidMessageError):
        enqueue_message(outgoing(idempotency_key="k" * 201), meta=meta)


@pytest.mark.django_db
def test_smtp_cannot_be_chosen_while_no_relay_is_configured(configure):
    from django.core.exceptions import ValidationError

    from opensspr.channels.providers.smtp import SmtpEmailChannel

    config = configure()
    config.email_channel = "smtp"
    with pytest.raises(ValidationError) as caught:
        config.full_clean()  # the test settings have no OPENSSPR_SMTP_HOST: locmem
    assert "OPENSSPR_SMTP_HOST" in str(caught.value.message_dict["email_channel"])
    assert SmtpEmailChannel().check_health().detail == "not_configured"
