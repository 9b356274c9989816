"""The voice-call callback: the provider (or the demo outbox) reports the key pressed.

CSRF-exempt because providers can't send a CSRF token; instead the voice channel
in use authenticates every callback (Twilio's signature over our public URL, or
the outbox page's own CSRF check) before anything is read from it. The token in
the URL is single-use and dies with its 5-minute challenge.
"""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from opensspr.channels import get_voice_channel
from opensspr.core.request_meta import request_meta
from opensspr.registration.proofs import confirm_registration_call
from opensspr.resets.flow import confirm_voice_call

_TWIML_THANKS = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Thank you. You can continue on '
    "screen now. Goodbye.</Say></Response>"
)
_TWIML_SORRY = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Say>The call could not be confirmed. '
    "Goodbye.</Say></Response>"
)


@csrf_exempt
@require_POST
def voice_callback(request: HttpRequest, provider: str, token: str) -> HttpResponse:
    channel = get_voice_channel()
    callback = channel.parse_callback(request)
    if callback is None:
        return HttpResponse(status=403)
    meta = request_meta(request)
    # A call placed by the reset flow, else one placed while managing security info.
    confirmed = confirm_voice_call(
        token=callback.token, digits=callback.digits, meta=meta
    ) or confirm_registration_call(token=callback.token, digits=callback.digits, meta=meta)
    if provider == "outbox":
        return HttpResponseRedirect(reverse("channels:outbox"))
    return HttpResponse(_TWIML_THANKS if confirmed else _TWIML_SORRY, content_type="text/xml")
