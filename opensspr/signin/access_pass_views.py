"""Signing in with a temporary access pass: a page of its own beside /signin.

A person who was given a pass expects to be told where to type it, so it has
its own page, linked from the sign-in page ("Sign in with a temporary access
pass"), rather than a password field that silently accepts either. The session
it opens reaches security info only (``registration.middleware``).
"""

from django import forms
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from opensspr.core.request_meta import request_meta
from opensspr.registration.access_passes import PassOutcome, sign_in_with_access_pass
from opensspr.registration.identity import record_access_pass_proof
from opensspr.registration.middleware import ACCESS_PASS_SESSION
from opensspr.registration.session import start_new_session
from opensspr.signin.forms import SignInForm
from opensspr.signin.messages import LOCKED_ELSEWHERE, SIGN_IN_ERRORS
from opensspr.signin.services import SignInOutcome

BACKEND = "opensspr.signin.backends.DirectorySessionBackend"

ERRORS = {
    PassOutcome.INVALID: _(
        "That user ID and temporary access pass don't match, or the pass is no longer valid. "
        "Check what you typed, or ask your helpdesk for a new pass."
    ),
    PassOutcome.LOCKED: LOCKED_ELSEWHERE,
    PassOutcome.THROTTLED: SIGN_IN_ERRORS[SignInOutcome.THROTTLED],
}


class AccessPassForm(forms.Form):
    user_id = SignInForm.base_fields["user_id"]
    passcode = forms.CharField(
        label=_("Temporary access pass"),
        max_length=64,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false"}),
    )


@sensitive_post_parameters("passcode")
@never_cache
@require_http_methods(["GET", "POST"])
def access_pass_view(request: HttpRequest) -> HttpResponse:
    form = AccessPassForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        meta = request_meta(request)
        result = sign_in_with_access_pass(
            identifier=form.cleaned_data["user_id"],
            passcode=form.cleaned_data["passcode"],
            meta=meta,
        )
        if result.outcome == PassOutcome.SUCCESS and result.user and result.until:
            if request.user.is_authenticated:
                logout(request)
            login(request, result.user, backend=BACKEND)
            request.session[ACCESS_PASS_SESSION] = {
                "ref": result.ref,
                "until": result.until.isoformat(),
            }
            session = start_new_session(request.session, None)
            record_access_pass_proof(user=result.user, session=session, meta=meta)
            return HttpResponseRedirect(reverse("registration:overview"))
        error = ERRORS[result.outcome]
    return render(request, "signin/access_pass.html", {"form": form, "error": error})
