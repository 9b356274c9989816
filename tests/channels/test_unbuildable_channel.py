"""A channel that fails to build for one kind of message never holds up the other kinds."""

import pytest

from opensspr.channels import MessageKind, MessageStatus, deliver_due, delivery, enqueue_message
from tests.channels.conftest import outgoing

pytestmark = pytest.mark.django_db


def test_a_plug_in_that_raises_while_building_fails_its_message_not_the_queue(
    meta, worker_mode, monkeypatch, clock
):
    built = delivery.channel_for

    def channel_for(kind):
        if MessageKind(kind) == MessageKind.SMS:
            raise RuntimeError("a third-party channel's bug")
        return built(kind)

    monkeypatch.setattr(delivery, "channel_for", channel_for)
    sms = enqueue_message(outgoing(MessageKind.SMS), meta=meta)  # the oldest: claimed first
    email = enqueue_message(outgoing(MessageKind.EMAIL), meta=meta)
    deliver_due()
    email.refresh_from_db()
    sms.refresh_from_db()
    assert email.status == MessageStatus.SENT
    # Claimed, then put back for a later try with a reason that names no detail.
    assert (sms.status, sms.attempts) == (MessageStatus.PENDING, 1)
    assert sms.last_error == "channel_unexpected_RuntimeError"
