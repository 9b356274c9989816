"""Delivery channels and the durable outbox: the one way OpenSSPR sends email, SMS or calls.

Callers build an :class:`OutgoingMessage` and call :func:`enqueue_message`
inside their transaction; see ``services.py`` for the guarantees. Names that
need the app registry (the models, the services) are imported on first use,
because Django imports this package before the models can load.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from opensspr.channels.base import (
    DeliveryChannel,
    MessageKind,
    OutgoingMessage,
    PermanentDeliveryError,
    Receipt,
    TemporaryDeliveryError,
    UncertainDeliveryError,
    VoiceCallback,
    VoiceChannel,
)
from opensspr.channels.masking import mask_email, mask_phone

if TYPE_CHECKING:
    from opensspr.channels.models import Message, MessageStatus
    from opensspr.channels.selectors import get_voice_channel, list_outbox
    from opensspr.channels.services import (
        InvalidMessageError,
        deliver_due,
        enqueue_message,
        register_due_work,
        run_due_work_after_commit,
    )

_LAZY = {
    "Message": "opensspr.channels.models",
    "MessageStatus": "opensspr.channels.models",
    "get_voice_channel": "opensspr.channels.selectors",
    "list_outbox": "opensspr.channels.selectors",
    "InvalidMessageError": "opensspr.channels.services",
    "deliver_due": "opensspr.channels.services",
    "enqueue_message": "opensspr.channels.services",
    "register_due_work": "opensspr.channels.services",
    "run_due_work_after_commit": "opensspr.channels.services",
}

__all__ = [
    "DeliveryChannel",
    "InvalidMessageError",
    "Message",
    "MessageKind",
    "MessageStatus",
    "OutgoingMessage",
    "PermanentDeliveryError",
    "Receipt",
    "TemporaryDeliveryError",
    "UncertainDeliveryError",
    "VoiceCallback",
    "VoiceChannel",
    "deliver_due",
    "enqueue_message",
    "get_voice_channel",
    "list_outbox",
    "mask_email",
    "mask_phone",
    "register_due_work",
    "run_due_work_after_commit",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)
