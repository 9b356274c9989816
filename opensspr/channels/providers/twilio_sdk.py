"""The part of the Twilio channels that needs the ``twilio`` package, loaded on first use.

``providers/twilio.py`` holds the channels (their keys, labels and settings, which
the settings form and the registry need in every process); this module holds what
talks to Twilio. A process that never texts or calls through Twilio (the embedded
demo, an organisation with another provider) never loads the SDK, about 8 MB each.
How a failure is classed is in ``providers/twilio.py``'s docstring.
"""

from collections.abc import Callable
from typing import NoReturn

import requests
import urllib3
from django.http import QueryDict
from django.utils import translation
from django.utils.translation import gettext
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import HMAC_SHA1, RequestValidator
from twilio.rest import Client
from twilio.twiml.voice_response import Gather, VoiceResponse

from opensspr.channels.base import (
    PermanentDeliveryError,
    TemporaryDeliveryError,
    UncertainDeliveryError,
)
from opensspr.channels.conf import provider_timeout, twilio_api_url

_NOT_NOW = {429, 503}
# <Say language=...> for the languages the portal speaks.
_SAY_LANGUAGES = {"en": "en-GB", "nl": "nl-NL"}


def client(account_sid: str, auth_token: str) -> Client:
    # No automatic retries: a retried POST could send twice (the adapter default is 0).
    http = TwilioHttpClient(timeout=provider_timeout(), pool_connections=False)
    made = Client(account_sid, auth_token, http_client=http)
    made.api.base_url = twilio_api_url()  # the supported seam (Domain.base_url)
    return made


def delivered[T](request: Callable[[], T]) -> T:
    """``request()``, its failure raised as our delivery error (module docstring)."""
    try:
        return request()
    except (TwilioException, requests.RequestException) as exc:
        _raise_for(exc)


def failure(request: Callable[[], object]) -> str | None:
    """``request()``'s failure as a short name, or None when it went through."""
    try:
        request()
    except (TwilioException, requests.RequestException) as exc:
        return f"twilio_{type(exc).__name__}"
    return None


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


def signed(auth_token: str, url: str, values: QueryDict, signature: str) -> bool:
    """Whether Twilio signed this callback (``X-Twilio-Signature``) with our token."""
    return bool(RequestValidator(auth_token).validate(url, values, signature, HMAC_SHA1))
