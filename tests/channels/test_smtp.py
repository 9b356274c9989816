"""Email through a real SMTP server (aiosmtpd on loopback): sent, retried, failed, expired."""

from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from opensspr.audit.models import AuditEvent
from opensspr.channels import Message, MessageStatus, deliver_due, enqueue_message
from opensspr.channels.base import HealthState
from opensspr.channels.providers.smtp import SmtpEmailChannel
from tests.channels.conftest import free_port, outgoing, smtp_mailers

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("worker_mode")]


@pytest.fixture
def smtp(configure, smtp_server):
    configure(email="smtp")
    return smtp_server


def _metric(outcome: str) -> float:
    labels = {"kind": "email", "provider": "smtp", "outcome": outcome}
    return REGISTRY.get_sample_value("opensspr_deliveries_total", labels) or 0.0


def test_email_is_delivered_to_the_smtp_server(smtp, meta, clock):
    before = _metric("sent")
    message = enqueue_message(
        outgoing(to="ann@mail.example", subject="Your code", body="Code 482913"), meta=meta
    )
    assert deliver_due() == 1
    [received] = smtp.delivered
    assert received["to"] == ["ann@mail.example"]
    assert "Code 482913" in received["data"]
    assert "Subject: Your code" in received["data"]
    assert "From: OpenSSPR <no-reply@localhost>" in received["data"]  # OPENSSPR_MAIL_FROM
    assert "Auto-Submitted: auto-generated" in received["data"]
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.sent_at == clock.now
    assert message.provider == "smtp"
    assert message.provider_ref.startswith("<") and message.provider_ref in received["data"]
    assert message.body_sealed == ""
    assert _metric("sent") == before + 1
    event = AuditEvent.objects.get(activity="delivery.sent")
    assert event.details["recipient_masked"] == "a•••@mail.example"


def test_a_sender_without_a_name_is_shown_as_the_organisation(smtp, settings, meta):
    settings.OPENSSPR_MAIL_FROM = "no-reply@contoso.example"
    enqueue_message(outgoing(), meta=meta)
    deliver_due()
    [received] = smtp.delivered
    assert received["from"] == "no-reply@contoso.example"
    assert "From: Contoso via OpenSSPR <no-reply@contoso.example>" in received["data"]


def test_451_is_retried_with_backoff_until_accepted(smtp, meta, clock):
    smtp.answer("451 4.3.0 Try again later")
    message = enqueue_message(outgoing(), meta=meta)
    assert deliver_due() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING
    assert message.attempts == 1
    assert message.last_error == "smtp_451"
    assert message.next_attempt_at == clock.now + timedelta(minutes=1)
    assert message.body_sealed != ""  # still needed for the retry

    assert deliver_due() == 0  # not due yet
    clock.advance(minutes=1)
    assert deliver_due() == 1
    message.refresh_from_db()
    assert message.next_attempt_at == clock.now + timedelta(minutes=2)

    smtp.answer("250 OK")
    clock.advance(minutes=1, seconds=59)
    assert deliver_due() == 0
    clock.advance(seconds=1)
    assert deliver_due() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.attempts == 3
    assert smtp.handler.attempts == 3 and len(smtp.delivered) == 1
    retries = AuditEvent.objects.filter(activity="delivery.retry_scheduled")
    assert [e.reason for e in retries] == ["smtp_451", "smtp_451"]


def test_550_fails_for_good_and_erases_the_body(smtp, meta, clock):
    smtp.answer("550 5.1.1 No such user")
    message = enqueue_message(outgoing(), meta=meta)
    deliver_due()
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.last_error == "smtp_550"
    assert message.body_sealed == ""
    clock.advance(hours=1)
    assert deliver_due() == 0
    assert smtp.handler.attempts == 1
    failed = AuditEvent.objects.get(activity="delivery.failed")
    assert failed.reason == "smtp_550" and failed.outcome == "failure"


def test_a_refused_connection_is_retried(configure, settings, meta, clock):
    settings.MAILERS = smtp_mailers(free_port())  # nothing listens there
    configure(email="smtp")
    message = enqueue_message(outgoing(), meta=meta)
    deliver_due()
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING
    assert message.last_error == "smtp_ConnectionRefusedError"


def test_a_code_that_expired_while_smtp_was_failing_is_never_sent(smtp, meta, clock):
    smtp.answer("451 4.3.0 Try again later")
    message = enqueue_message(outgoing(expires_at=clock.now + timedelta(minutes=10)), meta=meta)
    deliver_due()
    clock.advance(minutes=1)
    deliver_due()  # 451 again; next try at +3 min
    smtp.answer("250 OK")  # the relay recovers, but too late:
    clock.advance(minutes=10)
    assert deliver_due() == 0
    message.refresh_from_db()
    assert message.status == MessageStatus.EXPIRED
    assert message.body_sealed == ""
    assert smtp.delivered == []
    assert AuditEvent.objects.filter(activity="delivery.expired").count() == 1


def test_a_retry_that_would_land_after_expiry_expires_at_once(smtp, meta, clock):
    smtp.answer("451 4.3.0 Try again later")
    message = enqueue_message(outgoing(expires_at=clock.now + timedelta(seconds=30)), meta=meta)
    deliver_due()
    message.refresh_from_db()
    assert message.status == MessageStatus.EXPIRED
    assert message.body_sealed == ""


def test_an_already_expired_message_is_dropped_without_a_send(smtp, meta, clock):
    message = enqueue_message(outgoing(expires_at=clock.now + timedelta(minutes=5)), meta=meta)
    clock.advance(minutes=5)
    assert deliver_due() == 0
    message.refresh_from_db()
    assert message.status == MessageStatus.EXPIRED
    assert smtp.handler.attempts == 0


def test_retries_stop_after_the_configured_number_of_attempts(smtp, settings, meta, clock):
    settings.OPENSSPR_DELIVERY_MAX_ATTEMPTS = 2
    smtp.answer("451 4.3.0 Try again later")
    message = enqueue_message(outgoing(), meta=meta)
    deliver_due()
    clock.advance(minutes=1)
    deliver_due()
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert AuditEvent.objects.get(activity="delivery.failed").details["gave_up"] is True
    clock.advance(hours=2)
    assert deliver_due() == 0
    assert smtp.handler.attempts == 2


def test_health_check_reaches_the_relay(smtp, settings):
    assert SmtpEmailChannel().check_health().state == HealthState.HEALTHY
    settings.MAILERS = smtp_mailers(free_port())
    health = SmtpEmailChannel().check_health()
    assert health.state == HealthState.DOWN
    assert health.detail == "smtp_ConnectionRefusedError"


def test_inline_mode_sends_during_the_request(
    smtp, settings, meta, django_capture_on_commit_callbacks
):
    settings.OPENSSPR_DELIVERY_MODE = "inline"
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue_message(outgoing(), meta=meta)
    assert len(smtp.delivered) == 1
    assert Message.objects.get(pk=message.pk).status == MessageStatus.SENT
