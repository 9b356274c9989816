"""Channel keys -> channel classes, and the channel in use for each kind of message.

The organisation's choice per kind is stored in ``ChannelSettings`` (console);
this module is the only place that turns a key into a class, so adding a
provider means one class in ``providers/`` and one line here.
"""

from typing import cast

from opensspr.channels.base import (
    DeliveryChannel,
    MessageKind,
    PermanentDeliveryError,
    VoiceChannel,
)
from opensspr.channels.providers.outbox import OutboxChannel
from opensspr.channels.providers.smtp import SmtpEmailChannel
from opensspr.channels.providers.twilio import TwilioSmsChannel, TwilioVoiceChannel
from opensspr.channels.providers.webhook import WebhookSmsChannel
from opensspr.channels.selectors import get_channel_settings

CHANNELS: dict[str, type[DeliveryChannel]] = {
    cls.key: cls
    for cls in (
        OutboxChannel,
        SmtpEmailChannel,
        TwilioSmsChannel,
        TwilioVoiceChannel,
        WebhookSmsChannel,
    )
}


def channel_class(key: str) -> type[DeliveryChannel] | None:
    return CHANNELS.get(key)


def choices_for(kind: MessageKind) -> list[tuple[str, str]]:
    """(key, label) of every channel able to carry ``kind``, for the settings form."""
    return [(key, str(cls.label)) for key, cls in CHANNELS.items() if kind in cls.kinds]


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
