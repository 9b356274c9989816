"""The outbox channel and its demo page: readable codes, erased later, served only when asked for."""

import re
from datetime import timedelta

import pytest
from django.test import Client

from opensspr.audit.models import AuditEvent
from opensspr.channels import (
    MessageKind,
    MessageStatus,
    deliver_due,
    enqueue_message,
    get_voice_channel,
    list_outbox,
)
from opensspr.channels.conf import OUTBOX_RETENTION
from opensspr.channels.providers.outbox import OutboxChannel
from tests.channels.conftest import outgoing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("worker_mode")]


@pytest.fixture
def outbox_page(settings):
    settings.OPENSSPR_OUTBOX_PAGE = True


def test_the_outbox_keeps_a_readable_body_until_expiry_plus_retention(meta, clock):
    expires = clock.now + timedelta(minutes=10)
    enqueue_message(
        outgoing(MessageKind.SMS, body="Code 482913", to="+31687654321", expires_at=expires),
        meta=meta,
    )
    deliver_due()
    [message] = list_outbox(kind="sms", recipient="+31687654321")
    assert message.status == MessageStatus.SENT
    assert message.plaintext_body() == "Code 482913"
    assert message.body_retained_until == expires + OUTBOX_RETENTION

    clock.set(expires + OUTBOX_RETENTION - timedelta(seconds=1))
    deliver_due()
    message.refresh_from_db()
    assert message.plaintext_body() == "Code 482913"

    clock.advance(seconds=1)
    deliver_due()
    message.refresh_from_db()
    assert message.body_sealed == "" and message.plaintext_body() == ""
    assert AuditEvent.objects.get(activity="delivery.bodies_erased").details == {"count": 1}


def test_an_outbox_message_without_expiry_is_kept_for_the_retention_after_sending(meta, clock):
    enqueue_message(outgoing(body="Your password was changed."), meta=meta)
    deliver_due()
    clock.advance(seconds=OUTBOX_RETENTION.total_seconds() + 1)
    deliver_due()
    assert list_outbox()[0].body_sealed == ""


def test_list_outbox_filters_by_kind_and_recipient(meta):
    enqueue_message(outgoing(MessageKind.SMS, to="+31611111111"), meta=meta)
    enqueue_message(outgoing(MessageKind.SMS, to="+31622222222"), meta=meta)
    enqueue_message(outgoing(to="ann@mail.example"), meta=meta)
    deliver_due()
    assert [m.recipient for m in list_outbox(kind=MessageKind.SMS)] == [
        "+31622222222",
        "+31611111111",
    ]
    assert [m.kind for m in list_outbox(recipient="ann@mail.example")] == ["email"]


def test_the_outbox_page_is_a_404_unless_switched_on(client, meta):
    enqueue_message(outgoing(body="Code 482913"), meta=meta)
    deliver_due()
    response = client.get("/outbox/")
    assert response.status_code == 404
    assert "482913" not in response.content.decode()


def test_the_outbox_page_is_a_404_when_no_kind_uses_the_outbox(
    client, outbox_page, configure, twilio_api, smtp_server
):
    configure(email="smtp", sms="twilio_sms", voice="twilio_voice", twilio=True)
    assert client.get("/outbox/").status_code == 404


def test_the_outbox_page_shows_recent_messages_and_their_codes(client, outbox_page, meta):
    enqueue_message(
        outgoing(to="ann@mail.example", subject="Your code", body="Code 482913"), meta=meta
    )
    deliver_due()
    response = client.get("/outbox/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "ann@mail.example" in page and "Code 482913" in page
    # What it is, in words, not the purpose's key (issue 11: the demo outbox).
    assert "Password reset: verification code" in page and "reset.code" not in page
    assert "no-store" in response["Cache-Control"]
    assert "<script" not in page and "style=" not in page  # CSP: nothing inline


@pytest.mark.urls("tests.channels.urls")
def test_a_demo_user_answers_an_outbox_call_with_the_button(outbox_page, meta):
    token = "voice-token-demo-0000001"
    enqueue_message(outgoing(MessageKind.VOICE, voice_callback_token=token), meta=meta)
    deliver_due()
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/outbox/").content.decode()
    assert f'action="/hooks/voice/outbox/{token}"' in page
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]

    answered = browser.post(
        f"/hooks/voice/outbox/{token}", {"csrfmiddlewaretoken": csrf, "Digits": "#"}
    )
    assert answered.json() == {"accepted": True, "token": token, "digits": "#"}


@pytest.mark.urls("tests.channels.urls")
def test_an_outbox_call_answer_without_the_csrf_token_is_refused(outbox_page):
    browser = Client(enforce_csrf_checks=True)
    browser.get("/outbox/")  # has the cookie, but posts no token
    answered = browser.post("/hooks/voice/outbox/voice-token-demo-0000001", {"Digits": "#"})
    assert answered.status_code == 403


@pytest.mark.urls("tests.channels.urls")
def test_outbox_call_answers_are_refused_when_the_page_is_off(settings):
    settings.OPENSSPR_OUTBOX_PAGE = False
    answered = Client().post("/hooks/voice/outbox/voice-token-demo-0000001", {"Digits": "#"})
    assert answered.status_code == 403


def test_an_expired_call_shows_no_answer_button(client, outbox_page, meta, clock):
    token = "voice-token-demo-0000002"
    enqueue_message(
        outgoing(
            MessageKind.VOICE,
            voice_callback_token=token,
            expires_at=clock.now + timedelta(minutes=5),
        ),
        meta=meta,
    )
    deliver_due()
    assert token in client.get("/outbox/").content.decode()
    clock.advance(minutes=5)
    assert token not in client.get("/outbox/").content.decode()


def test_the_voice_channel_defaults_to_the_outbox():
    channel = get_voice_channel()
    assert isinstance(channel, OutboxChannel)
    assert channel.callback_url("voice-token-x1234567") == (
        "http://localhost/hooks/voice/outbox/voice-token-x1234567"
    )
