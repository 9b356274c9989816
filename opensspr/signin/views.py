"""Sign-in, sign-out and the password change a sign-in can demand.

A sign-in that needs a password change (expired, or an administrator's
temporary password) does not sign the person in: the session holds only the
user's id and a deadline, and the only thing it opens is the change form.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from opensspr.accounts.models import User
from opensspr.core import clock
from opensspr.core.request_meta import request_meta
from opensspr.directory.messages import policy_lines
from opensspr.directory.onprem import password_policy_of
from opensspr.policy.passwords import describe_policy
from opensspr.policy.selectors import get_password_profile, password_context_for
from opensspr.registration.interrupt import destination_after_sign_in
from opensspr.signin import devices
from opensspr.signin.change import change_password
from opensspr.signin.forms import ChangePasswordForm, SignInForm
from opensspr.signin.messages import SIGN_IN_ERRORS, apply_change_errors
from opensspr.signin.services import (
    ChangeReason,
    SignInOutcome,
    complete_sign_in_after_change,
    sign_in,
)

PENDING_KEY = "opensspr_pending_change"
BACKEND = "opensspr.signin.backends.DirectorySessionBackend"


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """Where to go after sign-in: only our own paths, never another site."""
    if (
        candidate
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        and candidate.startswith("/")
        and not candidate.startswith("//")
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def signin_view(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated and request.method == "GET":
        return HttpResponseRedirect(next_url)
    form = SignInForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        result = sign_in(
            identifier=form.cleaned_data["user_id"],
            password=form.cleaned_data["password"],
            meta=request_meta(request),
        )
        if result.outcome == SignInOutcome.SUCCESS and result.user:
            login(request, result.user, backend=BACKEND)
            response = HttpResponseRedirect(
                destination_after_sign_in(request, result.user, next_url)
            )
            return remember_device(request, response, result.user)
        if result.outcome == SignInOutcome.CHANGE_REQUIRED and result.user:
            _start_pending_change(request, result.user, result.change_reason, next_url)
            return redirect("signin:change_required")
        error = SIGN_IN_ERRORS[result.outcome]
        # The user ID is usually right: put the cursor where the next try starts.
        form.fields["user_id"].widget.attrs.pop("autofocus", None)
        form.fields["password"].widget.attrs["autofocus"] = True
    # "Can't access your account?" carries the user ID just typed, so a person who is
    # locked out (or forgot) needn't type it again on the reset page.
    typed = form.cleaned_data.get("user_id", "") if form.is_bound and form.is_valid() else ""
    context = {"form": form, "error": error, "next": next_url, "typed_user_id": typed}
    return render(request, "signin/signin.html", context)


def remember_device(request: HttpRequest, response: HttpResponse, user: User) -> HttpResponse:
    """Mark this browser familiar for ``user`` (``signin.devices``): renewed at each sign-in."""
    name = settings.OPENSSPR_DEVICE_COOKIE_NAME
    value = devices.remember(request.COOKIES.get(name, ""), user.user_id_key)
    response.set_cookie(
        name,
        value,
        max_age=int(devices.MAX_AGE.total_seconds()),
        secure=request.is_secure() or settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def _start_pending_change(
    request: HttpRequest, user: User, reason: ChangeReason | None, next_url: str
) -> None:
    if request.user.is_authenticated:
        logout(request)
    request.session.cycle_key()
    request.session[PENDING_KEY] = {
        "user": user.pk,
        "reason": (reason or ChangeReason.EXPIRED).value,
        "until": (
            clock.now() + timedelta(seconds=settings.OPENSSPR_PENDING_CHANGE_SECONDS)
        ).isoformat(),
        "next": next_url,
    }


def _pending_user(request: HttpRequest) -> tuple[User, dict[str, str]] | None:
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if datetime.fromisoformat(pending["until"]) <= clock.now():
        del request.session[PENDING_KEY]
        return None
    user = User.objects.filter(pk=pending["user"], account_enabled=True).first()
    return (user, pending) if user else None


@sensitive_post_parameters("current_password", "new_password", "confirm_password")
@never_cache
@require_http_methods(["GET", "POST"])
def change_required_view(request: HttpRequest) -> HttpResponse:
    found = _pending_user(request)
    if found is None:
        return redirect("signin:signin")
    user, pending = found
    form = ChangePasswordForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        result = change_password(
            user=user,
            current_password=form.cleaned_data["current_password"],
            new_password=form.cleaned_data["new_password"],
            meta=request_meta(request),
            forced_reason=pending["reason"],
        )
        if result.changed:
            del request.session[PENDING_KEY]
            user.refresh_from_db()
            complete_sign_in_after_change(user=user, meta=request_meta(request))
            login(request, user, backend=BACKEND)
            messages.success(request, _("Your password has been changed."))
            response = HttpResponseRedirect(
                destination_after_sign_in(request, user, pending["next"])
            )
            return remember_device(request, response, user)
        error = apply_change_errors(form, result)
    return render(
        request,
        "signin/change_required.html",
        {
            "form": form,
            "error": error,
            "pending_user": user,
            "expired": pending["reason"] == ChangeReason.EXPIRED,
            "requirements": describe_policy(get_password_profile(), password_context_for(user)),
            "directory_requirements": policy_lines(password_policy_of(user)),
        },
    )


@require_POST
def signout_view(request: HttpRequest) -> HttpResponse:
    logout(request)  # also ends a pending forced change
    messages.info(request, _("You have signed out."))
    return redirect("signin:signin")
