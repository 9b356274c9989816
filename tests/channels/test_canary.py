"""Canary: a code sent through every channel appears only sealed, and only until delivered.

The planted code is searched for in every log record (through both of our
formatters), every audit row and every column of every outbox row other than
``body_sealed``, which must itself be empty once a real provider took the message.
"""

import logging
from datetime import timedelta

import pytest

from opensspr.audit.models import AuditEvent
from opensspr.channels import Message, MessageKind, MessageStatus, deliver_due, enqueue_message
from opensspr.core.logging import JsonFormatter, SafeTextFormatter
from tests.channels.conftest import outgoing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("worker_mode")]

CANARY = "CANARY-CODE-123456"
# aiosmtpd, the *receiving* server in these tests, logs what it receives under "mail.*".
FAKE_SERVER_LOGGERS = ("mail.",)
TOKEN = "CANARY-VOICE-TOKEN-987654"


def _written(caplog) -> str:
    lines = []
    for record in caplog.records:
        if record.name.startswith(FAKE_SERVER_LOGGERS):
            continue
        lines.append(JsonFormatter().format(record))
        lines.append(SafeTextFormatter().format(record))
    for event in AuditEvent.objects.all():
        lines.append(repr({f.name: getattr(event, f.name) for f in AuditEvent._meta.fields}))
    return "\n".join(lines)


def _other_columns(message: Message) -> str:
    secret_columns = {"body_sealed", "voice_callback_token_sealed"}
    return repr(
        {
            f.name: getattr(message, f.name)
            for f in Message._meta.fields
            if f.name not in secret_columns
        }
    )


def test_a_code_leaks_nowhere_through_smtp(configure, smtp_server, meta, caplog):
    caplog.set_level(logging.DEBUG)
    configure(email="smtp")
    message = enqueue_message(outgoing(body=f"Your code is {CANARY}."), meta=meta)
    message.refresh_from_db()
    assert CANARY not in message.body_sealed  # sealed while queued
    deliver_due()
    assert CANARY in smtp_server.delivered[0]["data"]  # the canary really travelled
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.body_sealed == ""
    assert CANARY not in _other_columns(message)
    assert CANARY not in _written(caplog)


def test_a_code_leaks_nowhere_through_a_failing_then_expiring_smtp(
    configure, smtp_server, meta, caplog, clock
):
    caplog.set_level(logging.DEBUG)
    configure(email="smtp")
    smtp_server.answer("451 4.3.0 Try again later")
    message = enqueue_message(
        outgoing(body=f"Your code is {CANARY}.", expires_at=clock.now + timedelta(minutes=5)),
        meta=meta,
    )
    deliver_due()
    clock.advance(minutes=6)
    deliver_due()
    message.refresh_from_db()
    assert message.status == MessageStatus.EXPIRED and message.body_sealed == ""
    assert CANARY not in _other_columns(message)
    assert CANARY not in _written(caplog)


def test_a_code_leaks_nowhere_through_twilio(configure, twilio_api, meta, caplog):
    caplog.set_level(logging.DEBUG)
    configure(sms="twilio_sms", voice="twilio_voice", twilio=True)
    sms = enqueue_message(outgoing(MessageKind.SMS, body=f"Code {CANARY}"), meta=meta)
    call = enqueue_message(outgoing(MessageKind.VOICE, voice_callback_token=TOKEN), meta=meta)
    deliver_due()
    assert CANARY in twilio_api.requests[0]["form"]["Body"]
    assert TOKEN in twilio_api.requests[1]["form"]["Twiml"]
    written = _written(caplog)
    for message in (sms, call):
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT
        assert message.body_sealed == "" and message.voice_callback_token_sealed == ""
        assert CANARY not in _other_columns(message) and TOKEN not in _other_columns(message)
    assert CANARY not in written and TOKEN not in written


def test_a_code_leaks_nowhere_through_the_webhook(configure, sms_gateway, meta, caplog):
    caplog.set_level(logging.DEBUG)
    configure(sms="webhook_sms", webhook_url=sms_gateway.url)
    message = enqueue_message(outgoing(MessageKind.SMS, body=f"Code {CANARY}"), meta=meta)
    deliver_due()
    assert sms_gateway.requests[0]["payload"]["body"] == f"Code {CANARY}"
    message.refresh_from_db()
    assert message.body_sealed == ""
    assert CANARY not in _other_columns(message)
    assert CANARY not in _written(caplog)


def test_the_canary_search_would_notice_a_leak(caplog, meta):
    """The checks above can fail: a logged code is found."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger("opensspr.channels").info("oops %s", CANARY)
    assert CANARY in _written(caplog)
