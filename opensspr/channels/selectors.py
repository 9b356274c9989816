"""Reads over the outbox and the channel settings. Nothing here writes."""

from django.db.models import QuerySet

from opensspr.channels.base import MessageKind
from opensspr.channels.models import ChannelSettings, Message, MessageStatus

OUTBOX_KEY = "outbox"


def get_channel_settings() -> ChannelSettings:
    """The stored settings, or the embedded defaults (every kind to the outbox)."""
    return ChannelSettings.objects.filter(pk=1).first() or ChannelSettings(pk=1)


def list_outbox(
    kind: MessageKind | str | None = None, recipient: str | None = None
) -> QuerySet[Message]:
    """Messages the outbox channel delivered, newest first.

    Their ``plaintext_body()`` is readable until the retention ends; this is how
    the demo page and the tests read codes without a real provider.
    """
    found = Message.objects.filter(provider=OUTBOX_KEY, status=MessageStatus.SENT)
    if kind is not None:
        found = found.filter(kind=MessageKind(kind))
    if recipient is not None:
        found = found.filter(recipient=recipient)
    return found.order_by("-created_at", "-pk")


def is_outbox_in_use() -> bool:
    config = get_channel_settings()
    return OUTBOX_KEY in {config.email_channel, config.sms_channel, config.voice_channel}
