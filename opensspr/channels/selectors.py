"""Reads over the outbox and the channel settings. Nothing here writes."""

from typing import cast

from django.db.models import QuerySet

from opensspr.channels.base import (
    DeliveryChannel,
    MessageKind,
    PermanentDeliveryError,
    VoiceChannel,
)
from opensspr.channels.models import ChannelSettings, Message, MessageStatus
from opensspr.channels.registry import CHANNELS
from opensspr.core.prepared import PreparedSelect

OUTBOX_KEY = "outbox"
#: Read for every message sent: compiled once (``core.prepared``).
_SETTINGS = PreparedSelect(lambda: ChannelSettings.objects.filter(pk=1).order_by("pk")[:1])


def get_channel_settings() -> ChannelSettings:
    """The stored settings, or the embedded defaults (every kind to the outbox)."""
    return _SETTINGS.first() or ChannelSettings(pk=1)


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


def channel_for(kind: MessageKind | str) -> DeliveryChannel:
    """The channel the organisation chose for ``kind``, built from the stored settings."""
    config = get_channel_settings()
    cls = CHANNELS.get(config.channel_key(kind))
    if cls is None or MessageKind(kind) not in cls.kinds:
        # A key nobody provides (a provider removed in an upgrade): fail the message
        # visibly rather than "deliver" it somewhere the person will never look.
        raise PermanentDeliveryError("unknown_channel")
    return cls.from_config(config)


def get_voice_channel() -> VoiceChannel:
    """The voice channel in use, so the callback view can verify what calls report."""
    channel = channel_for(MessageKind.VOICE)
    if not hasattr(channel, "parse_callback"):
        raise PermanentDeliveryError("unknown_channel")
    return cast(VoiceChannel, channel)
