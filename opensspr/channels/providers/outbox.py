"""The outbox channel: "delivers" by keeping the message for the operator to read.

The embedded default for every kind, so a fresh install works without any
provider, and what tests and the demo read codes from. Because reading the
message *is* the delivery, the sealed body stays until the message expired plus
``conf.OUTBOX_RETENTION``; the delivery housekeeping erases it then.

Voice calls become a button on the demo outbox page ("answer the call and
press #"). That button's POST is the only callback this channel accepts: same
origin, CSRF-checked, and only while the outbox page is switched on.
"""

from typing import TYPE_CHECKING, ClassVar, Self

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.translation import gettext_lazy as _

from opensspr.channels.base import (
    Health,
    HealthState,
    MessageKind,
    Receipt,
    StrOrPromise,
    VoiceCallback,
)
from opensspr.channels.conf import outbox_page_enabled
from opensspr.channels.providers.hooks import token_from_path, voice_callback_url

if TYPE_CHECKING:
    from opensspr.channels.models import ChannelSettings, Message


def _no_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse()  # stands in for a view: CSRF checks need one (never called)


class OutboxChannel:
    key: ClassVar[str] = "outbox"
    label: ClassVar[StrOrPromise] = _("Outbox (read on the server, no delivery)")
    kinds: ClassVar[frozenset[MessageKind]] = frozenset(MessageKind)
    idempotent: ClassVar[bool] = True
    keeps_body: ClassVar[bool] = True

    @classmethod
    def from_config(cls, config: "ChannelSettings") -> Self:
        return cls()

    @classmethod
    def missing_settings(cls, config: "ChannelSettings") -> dict[str, str]:
        return {}

    def send(self, message: "Message", plaintext_body: str) -> Receipt:
        return Receipt(provider_ref=f"outbox:{message.pk}")

    def check_health(self) -> Health:
        return Health(HealthState.HEALTHY)

    def callback_url(self, token: str) -> str:
        return voice_callback_url(self.key, token)

    def parse_callback(self, request: HttpRequest) -> VoiceCallback | None:
        """Accept the demo page's "press #" form, and nothing else.

        The hook view must be CSRF-exempt for real providers, so the check is made
        here; a request that already passed the middleware is not checked twice.
        """
        if request.method != "POST" or not outbox_page_enabled():
            return None
        token = token_from_path(self.key, request)
        if token is None:
            return None
        if CsrfViewMiddleware(_no_view).process_view(request, _no_view, (), {}) is not None:
            return None
        return VoiceCallback(token=token, digits=request.POST.get("Digits", ""), provider_ref="")
