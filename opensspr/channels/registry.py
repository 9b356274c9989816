"""Channel keys -> channel classes.

The organisation's choice per kind is stored in ``ChannelSettings`` (console) and
turned into a channel by ``selectors.channel_for``. This module reads no models, so
the model's field choices can come from here, and it is the only place that turns a
key into a class: adding a provider means one class in ``providers/`` and one line here.
"""

from opensspr.channels.base import DeliveryChannel, MessageKind
from opensspr.channels.providers.outbox import OutboxChannel
from opensspr.channels.providers.smtp import SmtpEmailChannel
from opensspr.channels.providers.twilio import TwilioSmsChannel, TwilioVoiceChannel
from opensspr.channels.providers.webhook import WebhookSmsChannel

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
