"""Text messages and voice calls through Twilio's REST API (the official ``twilio`` package).

Twilio's API takes no idempotency key, so a request that may have reached Twilio
is never repeated (security bar F8, F9: one call per request, no redial loop):

* connection refused / connect timeout: nothing reached Twilio -> temporary;
* 429 and 503: Twilio said "not now" -> temporary;
* other 4xx (bad number, unverified caller ID...): permanent;
* 500/502/504, a read timeout or a dropped connection: Twilio may have acted ->
  uncertain, not retried.

Voice callbacks are verified with ``X-Twilio-Signature`` against the public URL
built from ``OPENSSPR_BASE_URL`` (never the Host header). The SDK itself is loaded
on first use (``twilio_sdk``), not by every process that lists the channels.
"""

from types import ModuleType
from typing import TYPE_CHECKING, ClassVar, Self

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from opensspr.channels.base import (
    Health,
    HealthState,
    MessageKind,
    Receipt,
    StrOrPromise,
    VoiceCallback,
)
from opensspr.channels.providers.hooks import public_url, token_from_path, voice_callback_url

if TYPE_CHECKING:
    from twilio.rest import Client

    from opensspr.channels.models import ChannelSettings, Message

_CALL_RING_SECONDS = 30
_CALL_TIME_LIMIT_SECONDS = 120


def _sdk() -> ModuleType:
    from opensspr.channels.providers import twilio_sdk  # noqa: PLC0415 (on first use: docstring)

    return twilio_sdk


class _TwilioChannel:
    kinds: ClassVar[frozenset[MessageKind]]
    idempotent: ClassVar[bool] = False
    keeps_body: ClassVar[bool] = False
    from_field: ClassVar[str]

    def __init__(self, *, account_sid: str, auth_token: str, from_number: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number

    @classmethod
    def from_config(cls, config: "ChannelSettings") -> Self:
        return cls(
            account_sid=config.twilio_account_sid,
            auth_token=config.twilio_auth_token(),
            from_number=getattr(config, cls.from_field),
        )

    @classmethod
    def missing_settings(cls, config: "ChannelSettings") -> dict[str, str]:
        needed = {
            "twilio_account_sid": bool(config.twilio_account_sid),
            "twilio_auth_token": bool(config.twilio_auth_token_sealed),
            cls.from_field: bool(getattr(config, cls.from_field)),
        }
        why = str(_("Needed to send with Twilio."))
        return {field: why for field, present in needed.items() if not present}

    def client(self) -> "Client":
        return _sdk().client(self.account_sid, self.auth_token)

    def check_health(self) -> Health:
        if not (self.account_sid and self.auth_token):
            return Health(HealthState.DOWN, "not_configured")
        failed = _sdk().failure(lambda: self.client().api.v2010.accounts(self.account_sid).fetch())
        return Health(HealthState.DOWN, failed) if failed else Health(HealthState.HEALTHY)


class TwilioSmsChannel(_TwilioChannel):
    key: ClassVar[str] = "twilio_sms"
    label: ClassVar[StrOrPromise] = _("Twilio text messages")
    kinds: ClassVar[frozenset[MessageKind]] = frozenset({MessageKind.SMS})
    from_field = "twilio_sms_from"

    def send(self, message: "Message", plaintext_body: str) -> Receipt:
        sent = _sdk().delivered(
            lambda: self.client().messages.create(
                to=message.recipient, from_=self.from_number, body=plaintext_body
            )
        )
        return Receipt(provider_ref=str(sent.sid or ""))


class TwilioVoiceChannel(_TwilioChannel):
    key: ClassVar[str] = "twilio_voice"
    label: ClassVar[StrOrPromise] = _("Twilio voice calls")
    kinds: ClassVar[frozenset[MessageKind]] = frozenset({MessageKind.VOICE})
    from_field = "twilio_voice_from"
    #: The path segment of our callbacks: /hooks/voice/twilio/<token>.
    hook_name: ClassVar[str] = "twilio"

    def callback_url(self, token: str) -> str:
        return voice_callback_url(self.hook_name, token)

    def send(self, message: "Message", plaintext_body: str) -> Receipt:
        sdk = _sdk()
        twiml = sdk.voice_twiml(
            message.voice_prompt,
            self.callback_url(message.plaintext_voice_token()),
            message.language,
        )
        call = sdk.delivered(
            lambda: self.client().calls.create(
                to=message.recipient,
                from_=self.from_number,
                twiml=twiml,
                timeout=_CALL_RING_SECONDS,
                time_limit=_CALL_TIME_LIMIT_SECONDS,
            )
        )
        return Receipt(provider_ref=str(call.sid or ""))

    def parse_callback(self, request: HttpRequest) -> VoiceCallback | None:
        """The token and pressed key of a callback that Twilio really signed."""
        if request.method != "POST" or not self.auth_token:
            return None
        token = token_from_path(self.hook_name, request)
        signature = request.headers.get("X-Twilio-Signature", "")
        if token is None or not signature:
            return None
        if not _sdk().signed(self.auth_token, public_url(request), request.POST, signature):
            return None
        return VoiceCallback(
            token=token,
            digits=request.POST.get("Digits", ""),
            provider_ref=request.POST.get("CallSid", ""),
        )
