"""Text messages through the organisation's own gateway: a signed HTTPS webhook.

We POST ``{"to", "body", "idempotency_key", "purpose"}`` as JSON with

    X-OpenSSPR-Timestamp: <unix seconds>
    X-OpenSSPR-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>

The timestamp is inside the signed string, so a receiver that refuses old
timestamps also refuses replays. Receivers must deduplicate on
``idempotency_key`` (the documented contract), which is what makes a retry after
a timeout or a 5xx safe here, unlike with Twilio. 4xx is permanent (except 408
and 429), and so is a redirect. Redirects are not followed: the signed body goes to the configured
URL or nowhere.
"""

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, ClassVar, Self
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from opensspr.channels.base import (
    Health,
    HealthState,
    MessageKind,
    PermanentDeliveryError,
    Receipt,
    StrOrPromise,
    TemporaryDeliveryError,
)
from opensspr.channels.conf import provider_timeout
from opensspr.core import clock

if TYPE_CHECKING:
    from opensspr.channels.models import ChannelSettings, Message

SIGNATURE_HEADER = "X-OpenSSPR-Signature"
TIMESTAMP_HEADER = "X-OpenSSPR-Timestamp"
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}
_RETRY_4XX = {408, 429}
_MAX_RESPONSE = 4096


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver runs (and our tests' fake gateway does)."""
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def validate_webhook_url(url: str) -> None:
    """https only, except to this machine (a gateway on loopback, or tests)."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        return
    raise ValidationError(_("Use an https:// URL (plain http only to this machine)."))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


class WebhookSmsChannel:
    key: ClassVar[str] = "webhook_sms"
    label: ClassVar[StrOrPromise] = _("Your own SMS gateway (signed webhook)")
    kinds: ClassVar[frozenset[MessageKind]] = frozenset({MessageKind.SMS})
    idempotent: ClassVar[bool] = True
    keeps_body: ClassVar[bool] = False

    def __init__(self, *, url: str, secret: str) -> None:
        self.url = url
        self.secret = secret

    @classmethod
    def from_config(cls, config: "ChannelSettings") -> Self:
        return cls(url=config.webhook_url, secret=config.webhook_secret())

    @classmethod
    def missing_settings(cls, config: "ChannelSettings") -> dict[str, str]:
        why = str(_("Needed to send through the webhook."))
        needed = {
            "webhook_url": bool(config.webhook_url),
            "webhook_secret": bool(config.webhook_secret_sealed),
        }
        return {field: why for field, present in needed.items() if not present}

    def send(self, message: "Message", plaintext_body: str) -> Receipt:
        if not (self.url and self.secret):
            raise PermanentDeliveryError("webhook_not_configured")
        try:
            validate_webhook_url(self.url)
        except ValidationError:
            raise PermanentDeliveryError("webhook_url_refused") from None
        payload = {
            "to": message.recipient,
            "body": plaintext_body,
            "idempotency_key": message.idempotency_key,
            "purpose": message.purpose,
        }
        raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        timestamp = str(int(clock.now().timestamp()))
        request = urllib.request.Request(  # noqa: S310 (scheme checked above)
            self.url,
            data=raw,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "OpenSSPR",
                "Idempotency-Key": message.idempotency_key,
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: signature(self.secret, timestamp, raw),
            },
        )
        opener = urllib.request.build_opener(_NoRedirects)
        try:
            with opener.open(request, timeout=provider_timeout()) as response:
                answer = response.read(_MAX_RESPONSE)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code < 500 and exc.code not in _RETRY_4XX:  # 4xx, or a redirect
                raise PermanentDeliveryError(f"webhook_http_{exc.code}") from None
            raise TemporaryDeliveryError(f"webhook_http_{exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            # Safe to retry even after a timeout: the receiver deduplicates on the key.
            raise TemporaryDeliveryError(f"webhook_{type(exc).__name__}") from None
        return Receipt(provider_ref=_reference(answer) or message.idempotency_key[:128])

    def check_health(self) -> Health:
        if not (self.url and self.secret):
            return Health(HealthState.DOWN, "not_configured")
        return Health(HealthState.HEALTHY, "not_probed")  # a probe would send a message


def _reference(answer: bytes) -> str:
    """The gateway's message id, if it answered JSON with an "id"."""
    try:
        data = json.loads(answer or b"null")
    except ValueError:
        return ""
    ref = data.get("id") if isinstance(data, dict) else None
    return str(ref)[:128] if isinstance(ref, str | int) else ""
