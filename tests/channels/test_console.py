"""Channel settings in the console: write-only secrets, audited by field name only."""

import pytest

from opensspr.audit.models import AuditEvent
from opensspr.channels.models import ChannelSettings, Message
from opensspr.core.crypto import seal
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

AUTH_TOKEN = "CANARY-TWILIO-TOKEN-5f4dcc3b5aa765d6"
WEBHOOK_SECRET = "CANARY-WEBHOOK-SECRET-0123456789abcdef"
CHANGE_URL = "/console/channels/channelsettings/1/change/"


@pytest.fixture
def admin_client(client, user_factory):
    admin = user_factory(roles=("global_admin",))
    response = client.post("/signin", {"user_id": admin.user_id, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return client


def _form(**overrides):
    data = {
        "email_channel": "outbox",
        "sms_channel": "twilio_sms",
        "voice_channel": "twilio_voice",
        "twilio_account_sid": "AC" + "1" * 32,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_sms_from": "+31 20 794 3400",
        "twilio_voice_from": "+31 20 794 3401",
        "webhook_url": "",
        "webhook_secret": "",
    }
    data.update(overrides)
    return data


def test_the_settings_row_exists_from_the_start():
    config = ChannelSettings.objects.get(pk=1)
    assert (config.email_channel, config.sms_channel, config.voice_channel) == (
        "outbox",
        "outbox",
        "outbox",
    )


def test_saving_twilio_settings_seals_the_token_and_audits_field_names_only(admin_client):
    response = admin_client.post(CHANGE_URL, _form())
    assert response.status_code == 302, response.content.decode()[:3000]
    config = ChannelSettings.objects.get(pk=1)
    assert config.sms_channel == "twilio_sms"
    assert config.twilio_sms_from == "+31207943400"
    assert config.twilio_auth_token() == AUTH_TOKEN
    assert AUTH_TOKEN not in config.twilio_auth_token_sealed
    event = AuditEvent.objects.get(activity="console.object_changed")
    assert "twilio_auth_token" in event.details["fields"]
    assert "values" not in event.details
    assert AUTH_TOKEN not in repr({f.name: getattr(event, f.name) for f in AuditEvent._meta.fields})


def test_the_stored_secret_is_never_rendered_back(admin_client):
    config = ChannelSettings.objects.get(pk=1)
    config.twilio_auth_token_sealed = seal(AUTH_TOKEN)
    config.webhook_secret_sealed = seal(WEBHOOK_SECRET)
    config.save()
    page = admin_client.get(CHANGE_URL).content.decode()
    assert AUTH_TOKEN not in page and WEBHOOK_SECRET not in page
    assert config.twilio_auth_token_sealed not in page
    assert "A value is stored" in page


def test_leaving_the_secret_empty_keeps_the_stored_one(admin_client, smtp_server):
    assert admin_client.post(CHANGE_URL, _form()).status_code == 302
    resubmitted = _form(
        twilio_auth_token="",  # what the browser sends back: the field is never filled in
        twilio_sms_from="+31207943400",
        twilio_voice_from="+31207943401",
        email_channel="smtp",
    )
    response = admin_client.post(CHANGE_URL, resubmitted)
    assert response.status_code == 302
    config = ChannelSettings.objects.get(pk=1)
    assert config.email_channel == "smtp"
    assert config.twilio_auth_token() == AUTH_TOKEN
    latest = AuditEvent.objects.filter(activity="console.object_changed").first()
    assert latest.details["fields"] == ["email_channel"]


def test_choosing_twilio_without_a_token_is_refused(admin_client):
    response = admin_client.post(CHANGE_URL, _form(twilio_auth_token=""))
    assert response.status_code == 200
    assert "Needed to send with Twilio." in response.content.decode()
    assert ChannelSettings.objects.get(pk=1).sms_channel == "outbox"


def test_an_http_webhook_url_is_refused(admin_client):
    response = admin_client.post(
        CHANGE_URL,
        _form(
            sms_channel="webhook_sms",
            webhook_url="http://sms.contoso.example/send",
            webhook_secret=WEBHOOK_SECRET,
        ),
    )
    assert response.status_code == 200
    assert "Use an https:// URL" in response.content.decode()
    assert WEBHOOK_SECRET not in response.content.decode()


def test_the_queued_messages_list_shows_no_body(admin_client, meta, worker_mode):
    from opensspr.channels import enqueue_message
    from tests.channels.conftest import outgoing

    message = enqueue_message(outgoing(body="Your code is 771234."), meta=meta)
    listing = admin_client.get("/console/channels/message/").content.decode()
    assert message.recipient_masked in listing
    assert "771234" not in listing
    detail = admin_client.get(f"/console/channels/message/{message.pk}/change/").content.decode()
    assert "771234" not in detail and message.body_sealed not in detail
    assert Message.objects.count() == 1
