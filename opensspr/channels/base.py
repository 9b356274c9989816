"""The contract every delivery channel keeps, and the values that cross it.

A channel gets one queued message at a time (the shape of Django's email
backends) and either hands it to its provider or raises a typed error that says
whether trying again is safe. Channels never audit, never touch the outbox
row's state and never log a body: the services in this app do the bookkeeping,
and only they decide what is retried.

The rule that keeps "never sent twice" true: a channel raises
``TemporaryDeliveryError`` only when the provider certainly did not act on the
request (connection refused, an explicit "try later"), or when the provider
deduplicates by our idempotency key (``idempotent = True``). A failure after the
request may have reached the provider is ``UncertainDeliveryError``, which is
never retried (security bar F8).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Protocol, Self

from django.db import models
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from opensspr.channels.models import ChannelSettings, Message

from opensspr.core.health import Health, HealthState  # noqa: F401 (re-exported)

type StrOrPromise = str | Promise


class MessageKind(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message")
    VOICE = "voice", _("Voice call")


@dataclass(frozen=True)
class OutgoingMessage:
    """What a caller asks to send. ``to`` must come from stored directory data only."""

    kind: MessageKind
    to: str
    purpose: str
    subject: str = ""
    body: str = ""
    voice_prompt: str = ""
    voice_callback_token: str = ""
    expires_at: datetime | None = None
    idempotency_key: str = ""
    correlation_id: str = ""
    # The caller made ``idempotency_key`` unique (a random part): it can't repeat, so
    # queuing is a plain INSERT; a key that may repeat is inserted unless taken (``ON
    # CONFLICT DO NOTHING``) and the row queued before comes back.
    fresh_key: bool = False


@dataclass(frozen=True)
class Receipt:
    """The provider's reference for an accepted message (message or call SID...)."""

    provider_ref: str


@dataclass(frozen=True)
class VoiceCallback:
    """A verified answer to a voice call: which call (token) and what was pressed."""

    token: str
    digits: str
    provider_ref: str


class DeliveryError(Exception):
    """Base of channel errors. ``code`` is short, stable and safe to store and audit."""

    retryable: ClassVar[bool] = False

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code[:120]


class TemporaryDeliveryError(DeliveryError):
    """Nothing was sent; trying again later is safe."""

    retryable = True


class PermanentDeliveryError(DeliveryError):
    """The provider refused the message for good (bad number, mailbox unknown...)."""


class UncertainDeliveryError(DeliveryError):
    """The request may have reached the provider: resending could deliver it twice."""


class DeliveryChannel(Protocol):
    #: Registry key, stored on each message as ``provider``.
    key: ClassVar[str]
    #: What the console calls it.
    label: ClassVar[StrOrPromise]
    #: The kinds of message this channel can carry.
    kinds: ClassVar[frozenset[MessageKind]]
    #: True when the provider deduplicates on our idempotency key, so a retry
    #: after an uncertain outcome cannot deliver twice.
    idempotent: ClassVar[bool]
    #: True when "sent" means "kept for the operator to read" (the outbox).
    keeps_body: ClassVar[bool]

    @classmethod
    def from_config(cls, config: "ChannelSettings") -> Self:
        """Build the channel from the organisation's stored settings."""
        ...

    @classmethod
    def missing_settings(cls, config: "ChannelSettings") -> dict[str, str]:
        """Field name -> why it is needed, for each setting this channel lacks."""
        ...

    def send(self, message: "Message", plaintext_body: str) -> Receipt: ...

    def check_health(self) -> Health: ...


class VoiceChannel(DeliveryChannel, Protocol):
    def callback_url(self, token: str) -> str:
        """The public URL the call reports the pressed key to."""
        ...

    def parse_callback(self, request: HttpRequest) -> VoiceCallback | None:
        """Verify a callback request; ``None`` when it is not authentic."""
        ...
