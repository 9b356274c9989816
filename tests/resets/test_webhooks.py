"""The voice callback: only an authenticated callback with # answers a call."""

import pytest
from twilio.request_validator import RequestValidator

from opensspr.channels import deliver_due, list_outbox
from opensspr.channels.models import ChannelSettings
from opensspr.core.crypto import seal
from opensspr.methods.challenges import voice_token_digest
from opensspr.policy.kinds import MethodKind as K
from opensspr.resets.flow import begin_verification, get_flow, start_flow
from opensspr.resets.models import Challenge
from tests.conftest import update_policy

pytestmark = pytest.mark.django_db
MOBILE = "+31612345678"
AUTH_TOKEN = "twilio-auth-token-for-tests"


@pytest.fixture
def calling(user_factory, meta):
    update_policy(scope="all", allow_mobile_voice=True, unlock_without_reset=False)
    person = user_factory(mobile_phone=MOBILE)
    view = start_flow(identifier=person.user_id, meta=meta)
    return begin_verification(handle=view.handle, kind=K.MOBILE_VOICE, contact=MOBILE, meta=meta)


def _token():
    deliver_due()
    return list_outbox(recipient=MOBILE).first().plaintext_voice_token()


def test_the_demo_outbox_button_answers_the_call(client, settings, calling):
    settings.OPENSSPR_OUTBOX_PAGE = True
    response = client.post(f"/hooks/voice/outbox/{_token()}", {"Digits": "#"})
    assert response.status_code == 302 and response["Location"] == "/outbox/"
    assert get_flow(handle=calling.handle).challenge.call_answered


def test_the_outbox_hook_is_closed_when_the_outbox_page_is_off(client, settings, calling):
    settings.OPENSSPR_OUTBOX_PAGE = False
    assert client.post(f"/hooks/voice/outbox/{_token()}", {"Digits": "#"}).status_code == 403
    assert not Challenge.objects.filter(answered_at__isnull=False).exists()


def test_a_signed_twilio_callback_answers_the_call(client, settings, meta, user_factory):
    ChannelSettings.objects.filter(pk=1).update(
        voice_channel="twilio_voice",
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token_sealed=seal(AUTH_TOKEN),
        twilio_voice_from="+15005550006",
    )
    update_policy(scope="all", allow_mobile_voice=True, unlock_without_reset=False)
    person = user_factory(mobile_phone=MOBILE)
    view = start_flow(identifier=person.user_id, meta=meta)
    view = begin_verification(handle=view.handle, kind=K.MOBILE_VOICE, contact=MOBILE, meta=meta)
    token = "tok" + "x" * 40
    challenge = Challenge.objects.get()
    Challenge.objects.filter(pk=challenge.pk).update(voice_token_digest=voice_token_digest(token))
    path = f"/hooks/voice/twilio/{token}"
    url = settings.OPENSSPR_BASE_URL + path
    params = {"Digits": "#", "CallSid": "CA123"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    forged = client.post(path, params, headers={"X-Twilio-Signature": "bad" + signature})
    assert forged.status_code == 403
    assert not get_flow(handle=view.handle).challenge.call_answered
    response = client.post(path, params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200 and b"Thank you" in response.content
    assert get_flow(handle=view.handle).challenge.call_answered


def test_a_callback_without_hash_confirms_nothing(client, settings, calling):
    settings.OPENSSPR_OUTBOX_PAGE = True
    client.post(f"/hooks/voice/outbox/{_token()}", {"Digits": "1"})
    assert not get_flow(handle=calling.handle).challenge.call_answered


def test_get_is_refused(client, calling):
    assert client.get(f"/hooks/voice/outbox/{_token()}").status_code == 405
