"""Twilio SMS and voice against a loopback fake of Twilio's REST API, and signed callbacks."""

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.test import RequestFactory
from twilio.request_validator import RequestValidator

from opensspr.audit.models import AuditEvent
from opensspr.channels import (
    MessageKind,
    MessageStatus,
    VoiceCallback,
    deliver_due,
    enqueue_message,
    get_voice_channel,
)
from opensspr.channels.base import HealthState
from opensspr.channels.providers.twilio import TwilioSmsChannel, TwilioVoiceChannel
from tests.channels.conftest import TWILIO_SID, TWILIO_TOKEN, free_port, outgoing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("worker_mode")]


@pytest.fixture
def twilio(configure, twilio_api):
    configure(sms="twilio_sms", voice="twilio_voice", twilio=True)
    return twilio_api


def test_sms_is_sent_through_twilio(twilio, meta, clock):
    message = enqueue_message(outgoing(MessageKind.SMS, body="Code 482913"), meta=meta)
    assert deliver_due() == 1
    [request] = twilio.requests
    assert request["resource"] == "Messages.json"
    assert request["form"] == {"To": "+31612345678", "From": "+15005550006", "Body": "Code 482913"}
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.provider == "twilio_sms"
    assert message.provider_ref == "SM" + f"{1:032x}"
    assert message.body_sealed == ""


def test_429_is_retried_after_backoff(twilio, meta, clock):
    twilio.statuses = [429]
    message = enqueue_message(outgoing(MessageKind.SMS), meta=meta)
    deliver_due()
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING
    assert message.last_error == "twilio_http_429"
    clock.advance(minutes=1)
    assert deliver_due() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert len(twilio.requests) == 2  # the first was refused, so one SMS went out


def test_a_timeout_after_the_request_reached_twilio_is_never_retried(twilio, meta, clock):
    twilio.hold_answers()  # Twilio takes the request, the answer never comes in time
    message = enqueue_message(outgoing(MessageKind.SMS), meta=meta)
    deliver_due()
    twilio.release()
    message.refresh_from_db()
    assert message.status == MessageStatus.UNCERTAIN
    assert message.last_error == "twilio_ReadTimeout"
    assert message.body_sealed == ""
    clock.advance(hours=1)
    assert deliver_due() == 0
    assert len(twilio.requests) == 1
    failed = AuditEvent.objects.get(activity="delivery.failed")
    assert failed.details["uncertain"] is True


@pytest.mark.parametrize(
    ("status", "final", "error"),
    [
        (500, MessageStatus.UNCERTAIN, "twilio_http_500"),
        (400, MessageStatus.FAILED, "twilio_21211"),
    ],
)
def test_server_errors_are_uncertain_and_client_errors_final(twilio, meta, status, final, error):
    twilio.statuses = [status]
    message = enqueue_message(outgoing(MessageKind.SMS), meta=meta)
    deliver_due()
    message.refresh_from_db()
    assert (message.status, message.last_error) == (final, error)


def test_no_connection_means_nothing_was_sent_so_it_is_retried(configure, settings, meta):
    configure(sms="twilio_sms", twilio=True)
    settings.OPENSSPR_TWILIO_API_URL = f"http://127.0.0.1:{free_port()}"
    message = enqueue_message(outgoing(MessageKind.SMS), meta=meta)
    deliver_due()
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING
    assert message.last_error == "twilio_connect_error"


def test_voice_call_says_the_prompt_and_reports_the_key_to_our_callback(twilio, meta, settings):
    token = "voice-token-abcdefgh-12345678"
    message = enqueue_message(
        outgoing(
            MessageKind.VOICE,
            voice_prompt="Contoso here. You asked to reset your password.",
            voice_callback_token=token,
        ),
        meta=meta,
    )
    assert deliver_due() == 1
    [request] = twilio.requests
    assert request["resource"] == "Calls.json"
    assert request["form"]["To"] == "+31612345678"
    assert request["form"]["From"] == "+15005550007"
    assert request["form"]["TimeLimit"] == "120"
    twiml = ElementTree.fromstring(request["form"]["Twiml"])  # noqa: S314 (our own TwiML)
    gather = twiml.find("Gather")
    assert gather.attrib == {
        "numDigits": "1",
        "finishOnKey": "",
        "action": f"{settings.OPENSSPR_BASE_URL}/hooks/voice/twilio/{token}",
        "method": "POST",
    }
    say = gather.find("Say")
    assert say.text == (
        "Contoso here. You asked to reset your password. Press the pound key to confirm."
    )
    assert say.attrib["language"] == "en-GB"
    assert twiml.findall("Say")[0].text == "No input received. Goodbye."
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.provider_ref.startswith("CA")
    assert message.voice_callback_token_sealed == ""


def test_voice_call_speaks_the_language_the_message_was_queued_in(twilio, meta):
    from django.utils import translation

    with translation.override("nl"):
        enqueue_message(outgoing(MessageKind.VOICE, voice_prompt="Hallo."), meta=meta)
    deliver_due()
    twiml = ElementTree.fromstring(twilio.requests[0]["form"]["Twiml"])  # noqa: S314 (ours)
    say = twiml.find("Gather/Say")
    assert say.attrib["language"] == "nl-NL"


def test_health_check_fetches_the_account(twilio):
    channel = TwilioSmsChannel(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, from_number="+1")
    assert channel.check_health().state == HealthState.HEALTHY
    wrong = TwilioSmsChannel(account_sid=TWILIO_SID, auth_token="wrong-token-xyz", from_number="+1")
    assert wrong.check_health().state == HealthState.DOWN


# --- callbacks ------------------------------------------------------------------------

CALLBACK_PATH = "/hooks/voice/twilio/voice-token-abcdefgh-12345678"


def _signed_post(settings, data, *, url=None, signature=None, **extra):
    url = url or settings.OPENSSPR_BASE_URL + CALLBACK_PATH
    if signature is None:
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, data)
    headers = {"HTTP_X_TWILIO_SIGNATURE": signature} if signature else {}
    return RequestFactory().post(CALLBACK_PATH, data, **headers, **extra)


def test_a_callback_twilio_signed_is_accepted(twilio, settings):
    data = {"CallSid": "CA123", "Digits": "#", "AccountSid": TWILIO_SID}
    channel = get_voice_channel()
    assert isinstance(channel, TwilioVoiceChannel)
    assert channel.parse_callback(_signed_post(settings, data)) == VoiceCallback(
        token="voice-token-abcdefgh-12345678", digits="#", provider_ref="CA123"
    )


def test_a_tampered_callback_is_refused(twilio, settings):
    data = {"CallSid": "CA123", "Digits": "1", "AccountSid": TWILIO_SID}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        settings.OPENSSPR_BASE_URL + CALLBACK_PATH, data
    )
    tampered = _signed_post(settings, data | {"Digits": "#"}, signature=signature)
    assert get_voice_channel().parse_callback(tampered) is None


def test_an_unsigned_callback_is_refused(twilio, settings):
    request = _signed_post(settings, {"CallSid": "CA123", "Digits": "#"}, signature="")
    assert get_voice_channel().parse_callback(request) is None


def test_a_callback_signed_with_another_token_is_refused(twilio, settings):
    data = {"CallSid": "CA123", "Digits": "#"}
    signature = RequestValidator("someone-elses-token").compute_signature(
        settings.OPENSSPR_BASE_URL + CALLBACK_PATH, data
    )
    assert (
        get_voice_channel().parse_callback(_signed_post(settings, data, signature=signature))
        is None
    )


def test_the_signed_url_is_the_public_base_url_never_the_host_header(twilio, settings):
    """A signature over the attacker's Host proves nothing: we check our own URL."""
    data = {"CallSid": "CA123", "Digits": "#"}
    evil_url = "http://evil.test" + CALLBACK_PATH
    request = _signed_post(settings, data, url=evil_url, HTTP_HOST="evil.test")
    assert get_voice_channel().parse_callback(request) is None


def test_a_callback_on_another_path_is_refused(twilio, settings):
    data = {"CallSid": "CA123", "Digits": "#"}
    url = settings.OPENSSPR_BASE_URL + "/hooks/voice/outbox/voice-token-abcdefgh-12345678"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, data)
    request = RequestFactory().post(
        "/hooks/voice/outbox/voice-token-abcdefgh-12345678",
        data,
        HTTP_X_TWILIO_SIGNATURE=signature,
    )
    assert get_voice_channel().parse_callback(request) is None


def test_the_retry_of_a_refused_call_places_one_call(twilio, meta, clock):
    twilio.statuses = [429]
    message = enqueue_message(outgoing(MessageKind.VOICE), meta=meta)
    deliver_due()
    clock.advance(minutes=1)
    deliver_due()
    clock.advance(minutes=30)
    deliver_due()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    calls = [r for r in twilio.requests if r["resource"] == "Calls.json"]
    assert len(calls) == 2  # one refused with 429, one placed
    assert timedelta(0) <= clock.now - message.sent_at <= timedelta(minutes=31)
