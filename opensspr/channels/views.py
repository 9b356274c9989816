"""The demo outbox page: read what the outbox channel "sent", answer outbox voice calls.

It shows codes in clear, so it exists only when an operator asked for it
(``OPENSSPR_OUTBOX_PAGE``, which ``opensspr demo`` sets) *and* the outbox channel
carries at least one kind of message; otherwise it is a 404 like any unknown
page. Never cached.
"""

from dataclasses import dataclass

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from opensspr.channels.base import MessageKind
from opensspr.channels.conf import outbox_page_enabled
from opensspr.channels.models import Message
from opensspr.channels.providers.hooks import voice_callback_path
from opensspr.channels.providers.outbox import OutboxChannel
from opensspr.channels.purposes import purpose_label
from opensspr.channels.selectors import is_outbox_in_use, list_outbox
from opensspr.core import clock

_SHOWN = 50


@dataclass(frozen=True)
class OutboxEntry:
    message: Message
    body: str
    answer_path: str  # where "answer the call and press #" posts; '' when not answerable
    purpose: str = ""  # what it is, in words


def _entry(message: Message) -> OutboxEntry:
    answer_path = ""
    if message.kind == MessageKind.VOICE:
        live = message.expires_at is None or message.expires_at > clock.now()
        token = message.plaintext_voice_token()
        if live and token:
            answer_path = voice_callback_path(OutboxChannel.key, token)
    return OutboxEntry(
        message, message.plaintext_body(), answer_path, purpose_label(message.purpose)
    )


@never_cache
@require_GET
def outbox_page(request: HttpRequest) -> HttpResponse:
    if not (outbox_page_enabled() and is_outbox_in_use()):
        raise Http404
    entries = [_entry(message) for message in list_outbox()[:_SHOWN]]
    return render(request, "channels/outbox.html", {"entries": entries})
