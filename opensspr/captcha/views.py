"""The challenge endpoint the widget calls on every page load and retry."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from opensspr.captcha.services import issue_challenge


@never_cache  # every load needs its own challenge: Cache-Control: no-store
@require_GET
def challenge_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(issue_challenge())
