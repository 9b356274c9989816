"""End-user pages for a signed-in person: the account page and password change.

The reset portal (no sign-in) is in ``reset_views.py``.
"""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from opensspr.accounts.models import User
from opensspr.core.request_meta import request_meta
from opensspr.directory.messages import policy_lines
from opensspr.directory.onprem import password_policy_of
from opensspr.policy.passwords import describe_policy
from opensspr.policy.selectors import (
    get_password_profile,
    password_context_for,
    password_expires_at,
)
from opensspr.signin.change import change_password
from opensspr.signin.forms import ChangePasswordForm
from opensspr.signin.messages import apply_change_errors


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # login_required guarantees it
    return request.user


@never_cache
@login_required
def home_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "portal/home.html",
        {
            "account": user,
            "password_expires_at": password_expires_at(user),
        },
    )


@sensitive_post_parameters("current_password", "new_password", "confirm_password")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def change_password_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = ChangePasswordForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        result = change_password(
            user=user,
            current_password=form.cleaned_data["current_password"],
            new_password=form.cleaned_data["new_password"],
            meta=request_meta(request),
        )
        if result.changed:
            user.refresh_from_db()
            update_session_auth_hash(request, user)  # keeps this session, rotates its key
            messages.success(request, _("Your password has been changed."))
            return redirect("portal:home")
        error = apply_change_errors(form, result)
    return render(
        request,
        "portal/change_password.html",
        {
            "form": form,
            "error": error,
            "requirements": describe_policy(get_password_profile(), password_context_for(user)),
            "directory_requirements": policy_lines(password_policy_of(user)),
        },
    )
