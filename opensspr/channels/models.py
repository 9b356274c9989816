"""The outbox (one ``Message`` row per message) and the organisation's channel settings.

Invariants the services keep on ``Message``:

* A body or voice callback token is stored only sealed (``core.crypto.seal``) and
  only while it may still be needed: it is erased once the message is sent,
  expired or failed, except by the outbox channel, which keeps it for the
  operator to read until ``body_retained_until``.
* No other column ever holds a body or code; ``last_error`` is an error code,
  never a provider's text.
* ``idempotency_key`` is unique: one logical message, at most one row, at most
  one send.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from opensspr.channels.base import MessageKind
from opensspr.channels.providers.webhook import validate_webhook_url
from opensspr.channels.registry import channel_class, choices_for
from opensspr.core.crypto import unseal

__all__ = ["ChannelSettings", "Message", "MessageKind", "MessageStatus"]


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    UNCERTAIN = "uncertain", _("Maybe sent (not retried)")
    EXPIRED = "expired", _("Expired before it could be sent")


FINAL_STATUSES = frozenset(
    {MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.UNCERTAIN, MessageStatus.EXPIRED}
)


class Message(models.Model):
    kind = models.CharField(_("kind"), max_length=8, choices=MessageKind.choices)
    purpose = models.CharField(_("purpose"), max_length=64)
    recipient = models.CharField(_("recipient"), max_length=254)
    recipient_masked = models.CharField(_("recipient (masked)"), max_length=64)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body_sealed = models.TextField(blank=True)
    voice_prompt = models.TextField(_("voice prompt"), blank=True)
    voice_callback_token_sealed = models.TextField(blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    correlation_id = models.CharField(_("correlation ID"), max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    claimed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    body_retained_until = models.DateTimeField(null=True, blank=True)
    provider = models.CharField(_("channel"), max_length=32, blank=True)
    provider_ref = models.CharField(_("provider reference"), max_length=128, blank=True)
    last_error = models.CharField(_("last error"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("created"), db_index=True)

    class Meta:
        verbose_name = _("queued message")
        verbose_name_plural = _("queued messages")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="channels_msg_due"),
            models.Index(fields=["status", "expires_at"], name="channels_msg_expiry"),
            models.Index(fields=["status", "claimed_at"], name="channels_msg_claimed"),
            models.Index(fields=["provider", "-created_at"], name="channels_msg_provider"),
            models.Index(
                fields=["body_retained_until"],
                condition=~Q(body_sealed=""),
                name="channels_msg_retained",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.purpose} to {self.recipient_masked} ({self.status})"

    def plaintext_body(self) -> str:
        """The body, while it is still stored ('' once erased)."""
        return unseal(self.body_sealed) if self.body_sealed else ""

    def plaintext_voice_token(self) -> str:
        return unseal(self.voice_callback_token_sealed) if self.voice_callback_token_sealed else ""

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


def _channel_choices(kind: MessageKind) -> list[tuple[str, str]]:
    return choices_for(kind)


def email_channel_choices() -> list[tuple[str, str]]:
    return _channel_choices(MessageKind.EMAIL)


def sms_channel_choices() -> list[tuple[str, str]]:
    return _channel_choices(MessageKind.SMS)


def voice_channel_choices() -> list[tuple[str, str]]:
    return _channel_choices(MessageKind.VOICE)


class ChannelSettings(models.Model):
    """Which channel carries each kind of message, and the providers' credentials.

    One row (pk=1), created by a migration and edited in the console. Secrets are
    stored sealed and are write-only in the console.
    """

    email_channel = models.CharField(
        _("email is sent by"), max_length=32, choices=email_channel_choices, default="outbox"
    )
    sms_channel = models.CharField(
        _("text messages are sent by"), max_length=32, choices=sms_channel_choices, default="outbox"
    )
    voice_channel = models.CharField(
        _("voice calls are made by"), max_length=32, choices=voice_channel_choices, default="outbox"
    )
    twilio_account_sid = models.CharField(_("Twilio account SID"), max_length=64, blank=True)
    twilio_auth_token_sealed = models.TextField(blank=True)
    twilio_sms_from = models.CharField(
        _("Twilio number for text messages"), max_length=32, blank=True
    )
    twilio_voice_from = models.CharField(
        _("Twilio number for voice calls"), max_length=32, blank=True
    )
    webhook_url = models.URLField(
        _("text message webhook URL"),
        max_length=500,
        blank=True,
        validators=[validate_webhook_url],
    )
    webhook_secret_sealed = models.TextField(blank=True)

    class Meta:
        verbose_name = _("delivery channels")
        verbose_name_plural = _("delivery channels")

    def __str__(self) -> str:
        return str(_("Delivery channels"))

    def channel_key(self, kind: MessageKind | str) -> str:
        return {
            MessageKind.EMAIL: self.email_channel,
            MessageKind.SMS: self.sms_channel,
            MessageKind.VOICE: self.voice_channel,
        }[MessageKind(kind)]

    def twilio_auth_token(self) -> str:
        return unseal(self.twilio_auth_token_sealed) if self.twilio_auth_token_sealed else ""

    def webhook_secret(self) -> str:
        return unseal(self.webhook_secret_sealed) if self.webhook_secret_sealed else ""

    def clean(self) -> None:
        """A chosen channel must have what it needs; each channel says what that is."""
        errors: dict[str, list[str]] = {}
        for key in {self.email_channel, self.sms_channel, self.voice_channel}:
            cls = channel_class(key)
            if cls is None:
                continue  # the field's own choices validation reports it
            for field, why in cls.missing_settings(self).items():
                errors.setdefault(field, []).append(why)
        if errors:
            raise ValidationError(errors)
