"""The site's URLs plus a stand-in for the reset flow's voice webhook view.

The real view belongs to the reset flow; this one does what it must do with a
channel: ask the voice channel in use to verify the callback, nothing more.
"""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from opensspr.channels import get_voice_channel


@csrf_exempt  # providers cannot send CSRF tokens; each channel verifies its own callbacks
def voice_hook(request: HttpRequest, provider: str, token: str) -> JsonResponse:
    callback = get_voice_channel().parse_callback(request)
    if callback is None:
        return JsonResponse({"accepted": False}, status=403)
    return JsonResponse({"accepted": True, "token": callback.token, "digits": callback.digits})


urlpatterns = [
    path("hooks/voice/<str:provider>/<str:token>", voice_hook),
    path("", include("opensspr.config.urls")),
]
