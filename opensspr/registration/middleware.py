"""Confine a session opened with a temporary access pass to security info.

Such a session is a real sign-in (Django's ``login``) marked in the session
(``ACCESS_PASS_SESSION``: the pass's ``ref`` and when the session ends). On
every request of a marked session:

* past its end, or once the pass was revoked or replaced, the person is signed
  out and sent to sign in again;
* anything but ``/security-info``, signing out and static files answers with a
  redirect to ``/security-info``: no password change, no console, no API.

Listed in ``MIDDLEWARE`` after the authentication and message middleware.
"""

from collections.abc import Callable
from datetime import datetime

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from opensspr.core import clock
from opensspr.registration.access_passes import session_is_valid

ACCESS_PASS_SESSION = "opensspr_access_pass"  # noqa: S105 (a session key)
ALLOWED_PREFIXES = ("/security-info", "/signout", "/static/")


def access_pass_state(request: HttpRequest) -> dict[str, str] | None:
    state = request.session.get(ACCESS_PASS_SESSION) if hasattr(request, "session") else None
    return state if isinstance(state, dict) else None


class AccessPassSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        state = access_pass_state(request)
        if state is None or not request.user.is_authenticated:
            return self.get_response(request)
        ended = datetime.fromisoformat(state["until"]) <= clock.now()
        if ended or not session_is_valid(request.user.pk, state.get("ref", "")):
            logout(request)
            messages.info(request, _("Your temporary access pass session has ended."))
            return HttpResponseRedirect(reverse("signin:signin"))
        if not request.path_info.startswith(ALLOWED_PREFIXES):
            return HttpResponseRedirect(reverse("registration:overview"))
        request.access_pass_session = True  # type: ignore[attr-defined]  # read by the pages
        return self.get_response(request)
