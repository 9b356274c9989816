"""Text messages and voice calls through Twilio's REST API (the official ``twilio`` package).

Twilio's API takes no idempotency key, so a request that may have reached Twilio
is never repeated (security bar F8, F9: one call per request, no redial loop):

* connection refused / connect timeout: nothing reached Twilio -> temporary;
* 429 and 503: Twilio said "not now" -> temporary;
* other 4xx (bad number, unverified caller ID...): permanent;
* 500/502/504, a read timeout or a dropped connection: Twilio may have acted ->
  uncertain, not retried.

Voice callbacks are verified with ``X-Twilio-Signature`` against the public URL
built from ``OPENSSPR_BASE_URL`` (never the Host header).
"""

from typing import TYPE_CHECKING, ClassVar, NoReturn, Self

import requests
import urllib3
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import HMAC_SHA1, RequestValidator
from twilio.rest import Client
from twilio.twiml.voice_response import Gather, VoiceResponse

from opensspr.channels.base import (
    Health,
    HealthState,
    MessageKind,
    PermanentDeliveryError,
    Receipt,
    StrOrPromise,
    TemporaryDeliveryError,
    UncertainDeliveryError,
    VoiceCallback,
)
from opensspr.channels.conf import provider_timeout, twilio_api_url
from opensspr.channels.providers.hooks import public_url, token_from_path, voice_callback_url

if TYPE_CHECKING:
    from opensspr.channels.models import ChannelSettings, Message

_NOT_NOW = {429, 503}
# <Say language=...> for the languages the portal speaks.
_SAY_LANGUAGES = {"en": "en-GB", "nl": "nl-NL"}
_CALL_RING_SECONDS = 30
_CALL_TIME_LIMIT_SECONDS = 120


def _never_connected(exc: requests.ConnectionError) -> bool:
    """True when the TCP connection was never made (so Twilio saw nothing)."""
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _raise_for(exc: Exception) -> NoReturn:
    if isinstance(exc, TwilioRestException):
        if exc.status in _NOT_NOW:
            raise TemporaryDeliveryError(f"twilio_http_{exc.status}") from None
        if 400 <= exc.status < 500:
            raise PermanentDeliveryError(f"twilio_{exc.code or exc.status}") from None
        raise UncertainDeliveryError(f"twilio_http_{exc.status}") from None
    if isinstance(exc, requests.ConnectTimeout):
        raise TemporaryDeliveryError("twilio_connect_timeout") from None
    if isinstance(exc, requests.ConnectionError) and _never_connected(exc):
        raise TemporaryDeliveryError("twilio_connect_error") from None
    if isinstance(exc, requests.RequestException):
        raise UncertainDeliveryError(f"twilio_{type(exc).__name__}") from None
    raise PermanentDeliveryError(f"twilio_{type(exc).__name__}") from None


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

    def client(self) -> Client:
        # No automatic retries: a retried POST could send twice (the adapter default is 0).
        http = TwilioHttpClient(timeout=provider_timeout(), pool_connections=False)
        client = Client(self.account_sid, self.auth_token, http_client=http)
        client.api.base_url = twilio_api_url()  # the supported seam (Domain.base_url)
        return client

    def check_health(self) -> Health:
        if not (self.account_sid and self.auth_token):
            return Health(HealthState.DOWN, "not_configured")
        try:
            self.client().api.v2010.accounts(self.account_sid).fetch()
        except (TwilioException, requests.RequestException) as exc:
            return Health(HealthState.DOWN, f"twilio_{type(exc).__name__}")
        return Health(HealthState.HEALTHY)


class TwilioSmsChannel(_TwilioChannel):
    key: ClassVar[str] = "twilio_sms"
    label: ClassVar[StrOrPromise] = _("Twilio text messages")
    kinds: ClassVar[frozenset[MessageKind]] = frozenset({MessageKind.SMS})
    from_field = "twilio_sms_from"

    def send(self, message: "Message", plaintext_body: str) -> Receipt:
        try:
            sent = self.client().messages.create(
                to=message.recipient, from_=self.from_number, body=plaintext_body
            )
        except (TwilioException, requests.RequestException) as exc:
            _raise_for(exc)
        return Receipt(provider_ref=str(sent.sid or ""))


def voice_twiml(prompt: str, callback_url: str, language: str) -> str:
    """The call: say the prompt, wait for one key, report it to ``callback_url``."""
    code = (language or "en").split("-")[0].lower()
    say_language = _SAY_LANGUAGES.get(code, "en-US")
    with translation.override(code):
        confirm = gettext("Press the pound key to confirm.")
        goodbye = gettext("No input received. Goodbye.")
    response = VoiceResponse()
    gather = Gather(num_digits=1, finish_on_key="", action=callback_url, method="POST")
    gather.say(f"{prompt} {confirm}".strip(), language=say_language)
    response.append(gather)
    response.say(goodbye, language=say_language)
    return str(response)


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
        twiml = voice_twiml(
            message.voice_prompt,
            self.callback_url(message.plaintext_voice_token()),
            message.language,
        )
        try:
            call = self.client().calls.create(
                to=message.recipient,
                from_=self.from_number,
                twiml=twiml,
                timeout=_CALL_RING_SECONDS,
                time_limit=_CALL_TIME_LIMIT_SECONDS,
            )
        except (TwilioException, requests.RequestException) as exc:
            _raise_for(exc)
        return Receipt(provider_ref=str(call.sid or ""))

    def parse_callback(self, request: HttpRequest) -> VoiceCallback | None:
        """The token and pressed key of a callback that Twilio really signed."""
        if request.method != "POST" or not self.auth_token:
            return None
        token = token_from_path(self.hook_name, request)
        signature = request.headers.get("X-Twilio-Signature", "")
        if token is None or not signature:
            return None
        validator = RequestValidator(self.auth_token)
        if not validator.validate(public_url(request), request.POST, signature, HMAC_SHA1):
            return None
        return VoiceCallback(
            token=token,
            digits=request.POST.get("Digits", ""),
            provider_ref=request.POST.get("CallSid", ""),
        )
