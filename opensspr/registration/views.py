"""The security-info page, "verify it's you", and the end of the sign-in interrupt.

Views parse, call a service and render; they hold no rule. A page that changes
something redirects to "verify it's you" first unless this session has a fresh
proof (``identity.has_fresh_identity``), then comes back to where it was.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from opensspr.accounts.models import User
from opensspr.channels import mask_email, mask_phone
from opensspr.core.request_meta import request_meta
from opensspr.policy.kinds import MethodKind
from opensspr.registration import identity, proofs, services
from opensspr.registration.forms import CodeForm, IdentityMethodForm, PasswordForm
from opensspr.registration.messages import FIELD_MESSAGES, message_for, reason_message
from opensspr.registration.models import Proof, ProofPurpose
from opensspr.registration.notify import Item
from opensspr.registration.proofs import ProofError
from opensspr.registration.selectors import Entry, get_security_info, has_enough_methods
from opensspr.registration.session import (
    InterruptMode,
    end_interrupt,
    get_interrupt,
    session_digest,
)

#: Errors after which the proof is gone: start again from the list of methods.
RESTART = frozenset(
    {"code_expired", "code_dead", "code_used", "no_open_proof", "throttled", "same_as_other"}
)

CALL_KINDS = frozenset({MethodKind.MOBILE_VOICE.value, MethodKind.OFFICE_VOICE.value})

View = Callable[..., HttpResponse]


def user_of(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # login_required guarantees it
    return request.user


def session_of(request: HttpRequest) -> str:
    return session_digest(request.session)


def home() -> str:
    """The security-info overview, under the site's mount prefix if it has one."""
    return reverse("registration:overview")


def safe_return(candidate: str | None) -> str:
    """Only our own security-info pages are places to come back to."""
    overview = home()
    if (
        candidate
        and candidate.startswith(overview)
        and "//" not in candidate
        and "\\" not in candidate
    ):
        return candidate
    return overview


def verify_url(back: str) -> str:
    return f"{reverse('registration:verify')}?{urlencode({'next': safe_return(back)})}"


def fresh_identity_required(view: View) -> View:
    """Send the person to "verify it's you" first, and back here afterwards."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not identity.has_fresh_identity(user_of(request), session_of(request)):
            return HttpResponseRedirect(verify_url(request.get_full_path()))
        return view(request, *args, **kwargs)

    return wrapped


def page(view: View) -> View:
    """Signed in, never cached, GET and POST: every security-info page."""
    return never_cache(login_required(require_http_methods(["GET", "POST"])(view)))


@page
def overview_view(request: HttpRequest) -> HttpResponse:
    user, session = user_of(request), session_of(request)
    interrupt = get_interrupt(request.session)
    fresh = identity.has_fresh_identity(user, session)
    if interrupt and interrupt.mode == InterruptMode.RECONFIRM and not fresh:
        return HttpResponseRedirect(verify_url(home()))
    info = get_security_info(user)
    return render(
        request,
        "registration/overview.html",
        {
            "info": info,
            "rows": [_row(entry) for entry in info.entries],
            "interrupt": interrupt,
            "fresh_until": identity.fresh_until(user, session),
            "enough": has_enough_methods(info.decision),
            "reasons": [
                (reason.value, reason_message(reason, info.decision.gates_required))
                for reason in info.failed_reasons
            ],
        },
    )


_SLUGS = {
    Item.AUTH_EMAIL: "email",
    Item.MOBILE_PHONE: "mobile-phone",
    Item.OFFICE_PHONE: "office-phone",
    Item.AUTHENTICATOR_APP: "authenticator-app",
    Item.SECURITY_QUESTIONS: "security-questions",
}


def _change_url(item: Item) -> str:
    if item == Item.AUTH_EMAIL:
        return reverse("registration:email")
    if item == Item.SECURITY_QUESTIONS:
        return reverse("registration:questions")
    return reverse("registration:phone", args=[_SLUGS[item]])


def _row(entry: Entry) -> dict[str, Any]:
    """One line of the list with its links: change where allowed, remove where registered."""
    slug = _SLUGS[entry.item]
    remove = reverse("registration:remove", args=[slug]) if entry.registered else ""
    if entry.app_id is not None:
        remove += f"?{urlencode({'app': entry.app_id})}"
        slug += f"-{entry.app_id}"
    changeable = entry.allowed and entry.item != Item.AUTHENTICATOR_APP
    return {
        "entry": entry,
        "slug": slug,
        "change_url": _change_url(entry.item) if changeable else "",
        "remove_url": remove,
    }


def shown_as(proof: Proof) -> str:
    """Where a proof's code or call went, masked."""
    if proof.purpose != ProofPurpose.IDENTITY:
        return (
            mask_email(proof.value) if proof.kind == MethodKind.EMAIL else mask_phone(proof.value)
        )
    options = identity.list_identity_options(proof.user)
    return next((o.shown_as for o in options if o.kind == proof.kind), "")


@sensitive_post_parameters("password")
@page
def verify_view(request: HttpRequest) -> HttpResponse:
    user, session = user_of(request), session_of(request)
    back = safe_return(request.POST.get("next") or request.GET.get("next"))
    if request.method == "GET" and identity.has_fresh_identity(user, session):
        return HttpResponseRedirect(back)
    options = identity.list_identity_options(user)
    form: IdentityMethodForm | PasswordForm = (
        IdentityMethodForm(request.POST or None, options=options)
        if options
        else PasswordForm(request.POST or None)
    )
    alert = message_for(request.GET["error"]) if request.GET.get("error") else None
    if request.method == "POST" and form.is_valid():
        meta = request_meta(request)
        try:
            if isinstance(form, PasswordForm):
                identity.verify_password(
                    user=user, session=session, password=form.cleaned_data["password"], meta=meta
                )
                return HttpResponseRedirect(back)
            identity.start_identity_proof(
                user=user,
                session=session,
                kind=MethodKind(form.cleaned_data["method"]),
                meta=meta,
            )
            return HttpResponseRedirect(
                f"{reverse('registration:verify_code')}?{urlencode({'next': back})}"
            )
        except ProofError as exc:
            if exc.code in FIELD_MESSAGES:
                form.add_error(None if options else "password", message_for(exc.code))
            else:
                alert = message_for(exc.code)
    return render(
        request,
        "registration/verify.html",
        {
            "form": form,
            "alert": alert,
            "back": back,
            "interrupt": get_interrupt(request.session),
        },
    )


@page
def verify_code_view(request: HttpRequest) -> HttpResponse:
    user, session = user_of(request), session_of(request)
    back = safe_return(request.POST.get("next") or request.GET.get("next"))
    proof = proofs.get_open_proof(user, session, {ProofPurpose.IDENTITY})
    if proof is None:
        return HttpResponseRedirect(verify_url(back))

    def finish(answer: str) -> HttpResponse:
        identity.finish_identity_proof(
            user=user, session=session, answer=answer, meta=request_meta(request)
        )
        return HttpResponseRedirect(back)

    return answer_proof(
        request,
        proof,
        finish,
        on_restart=lambda code: HttpResponseRedirect(f"{verify_url(back)}&error={code}"),
        identity=True,
        back=back,
        another_url=verify_url(back),
    )


def answer_proof(
    request: HttpRequest,
    proof: Proof,
    finish: Callable[[str], HttpResponse],
    *,
    on_restart: Callable[[str], HttpResponse],
    **context: Any,
) -> HttpResponse:
    """The code page of every proof: check the typed code (or the answered call) or show why not.

    ``finish`` gets what was typed ("" for a call) and answers the success;
    ``on_restart`` answers a refusal that ends the proof (expired, too many tries).
    """
    form = CodeForm(request.POST or None)
    alert = None
    call = proof.kind in CALL_KINDS
    if request.method == "POST" and (call or form.is_valid()):
        try:
            return finish("" if call else form.cleaned_data["code"])
        except ProofError as exc:
            if exc.code in RESTART:
                return on_restart(exc.code)
            if exc.code in FIELD_MESSAGES:
                form.add_error("code", message_for(exc.code))
            else:
                alert = message_for(exc.code)
    return render(
        request,
        "registration/code.html",
        {
            "form": form,
            "alert": alert,
            "proof": proof,
            "call": call,
            "shown_as": shown_as(proof),
            "interrupt": get_interrupt(request.session),
            **context,
        },
    )


@require_POST
@never_cache
@login_required
def finish_view(request: HttpRequest) -> HttpResponse:
    """The end of the interrupt: done, looks good, or not now. Always back to sign-in's next."""
    user, session = user_of(request), session_of(request)
    interrupt = get_interrupt(request.session)
    if interrupt is None:
        return redirect("registration:overview")
    meta = request_meta(request)
    action = request.POST.get("action")
    try:
        if action == "done":
            services.confirm_security_info(
                user=user,
                session=session,
                meta=meta,
                reconfirm=interrupt.mode == InterruptMode.RECONFIRM,
            )
        else:
            services.skip_interrupt(user=user, mode=interrupt.mode.value, meta=meta)
    except ProofError as exc:
        messages.error(request, message_for(exc.code))
        return redirect("registration:overview")
    end_interrupt(request.session)
    return HttpResponseRedirect(interrupt.next_url)
