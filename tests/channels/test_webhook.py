"""The signed SMS webhook against a loopback gateway that verifies every signature."""

import pytest
from django.core.exceptions import ValidationError

from opensspr.channels import MessageKind, MessageStatus, deliver_due, enqueue_message
from opensspr.channels.models import ChannelSettings
from opensspr.channels.providers.webhook import signature, verify_signature
from opensspr.core.crypto import seal
from tests.channels.conftest import free_port, outgoing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("worker_mode")]


@pytest.fixture
def gateway(configure, sms_gateway):
    configure(sms="webhook_sms", webhook_url=sms_gateway.url + "/sms")
    return sms_gateway


def test_sms_is_posted_signed_and_the_gateway_verifies_it(gateway, meta, clock):
    message = enqueue_message(
        outgoing(MessageKind.SMS, body="Code 482913", idempotency_key="reset:7:sms:1"),
        meta=meta,
    )
    assert deliver_due() == 1
    [request] = gateway.requests
    assert request["signed"] is True
    assert request["ts"] == str(int(clock.now.timestamp()))
    assert request["payload"] == {
        "to": "+31612345678",
        "body": "Code 482913",
        "idempotency_key": "reset:7:sms:1",
        "purpose": "reset.code",
    }
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.provider_ref == "gw-1"
    assert message.body_sealed == ""


def test_the_signature_covers_the_timestamp_so_a_replay_with_a_new_time_fails():
    body = b'{"to":"+31612345678"}'
    header = signature("s3cret", "1795000000", body)
    assert verify_signature("s3cret", "1795000000", body, header)
    assert not verify_signature("s3cret", "1795000999", body, header)
    assert not verify_signature("s3cret", "1795000000", body + b" ", header)
    assert not verify_signature("other", "1795000000", body, header)


def test_a_wrong_secret_is_refused_by_the_gateway_and_fails_for_good(gateway, meta):
    config = ChannelSettings.objects.get(pk=1)
    config.webhook_secret_sealed = seal("not-the-gateways-secret-0123456789abc")
    config.save()
    message = enqueue_message(outgoing(MessageKind.SMS), meta=meta)
    deliver_due()
    message.refresh_from_db()
    assert gateway.requests[0]["signed"] is False
    assert (message.status, message.last_error) == (MessageStatus.FAILED, "webhook_http_401")


def test_5xx_is_retried(gateway, meta, clock):
    gateway.statuses = [503]
    message = enqueue_message(outgoing(MessageKind.SMS), meta=meta)
    deliver_due()
    message.refresh_from_db()
    assert (message.status, message.last_error) == (MessageStatus.PENDING, "webhook_http_503")
    clock.advance(minutes=1)
    deliver_due()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert len(gateway.unique_deliveries()) == 1


def test_4xx_fails_for_good(gateway, meta):
    gateway.statuses = [422]
    message = enqueue_message(outgoing(MessageKind.SMS), meta=meta)
    deliver_due()
    message.refresh_from_db()
    assert (message.status, message.last_error) == (MessageStatus.FAILED, "webhook_http_422")


def test_a_timeout_is_retried_because_the_gateway_deduplicates(gateway, meta, clock):
    gateway.hold_answers()
    message = enqueue_message(outgoing(MessageKind.SMS), meta=meta)
    deliver_due()
    gateway.release()
    gateway.hold = None
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING
    clock.advance(minutes=1)
    deliver_due()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    keys = [r["payload"]["idempotency_key"] for r in gateway.requests]
    assert keys == [message.idempotency_key] * 2  # same key twice: one SMS at the gateway
    assert len(gateway.unique_deliveries()) == 1


def test_connection_refused_is_retried(configure, meta):
    configure(sms="webhook_sms", webhook_url=f"http://127.0.0.1:{free_port()}/sms")
    message = enqueue_message(outgoing(MessageKind.SMS), meta=meta)
    deliver_due()
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING
    assert message.last_error == "webhook_URLError"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://sms.contoso.example/send", True),
        ("http://127.0.0.1:8080/send", True),
        ("http://localhost/send", True),
        ("http://sms.contoso.example/send", False),
        ("http://10.0.0.5/send", False),
        ("ftp://sms.contoso.example/send", False),
    ],
)
def test_the_webhook_url_must_be_https_except_on_loopback(configure, url, ok):
    config = configure()
    config.webhook_url = url
    if ok:
        config.full_clean()
    else:
        with pytest.raises(ValidationError) as caught:
            config.full_clean()
        assert "webhook_url" in caught.value.message_dict


def test_choosing_the_webhook_without_url_and_secret_is_refused(configure):
    config = configure()
    config.sms_channel = "webhook_sms"
    with pytest.raises(ValidationError) as caught:
        config.full_clean()
    assert set(caught.value.message_dict) == {"webhook_url", "webhook_secret"}
