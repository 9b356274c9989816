"""Pages that add, change or remove one method; each needs a fresh identity proof.

A new email address or number is typed here, proven on the confirm page (a
code, or a call answered with #), and only then stored by the service.
"""

import segno
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters

from opensspr.core.forms import focus_first_error
from opensspr.core.request_meta import request_meta
from opensspr.methods.questions import check_answers, list_questions
from opensspr.policy.kinds import MethodKind
from opensspr.policy.reset_selectors import get_sspr_policy
from opensspr.registration import services
from opensspr.registration.forms import (
    CodeForm,
    EmailForm,
    PhoneForm,
    QuestionsForm,
)
from opensspr.registration.messages import FIELD_MESSAGES, message_for
from opensspr.registration.notify import Item
from opensspr.registration.proofs import ProofError
from opensspr.registration.selectors import allowed_items, get_security_info, phone_kinds
from opensspr.registration.views import (
    answer_proof,
    fresh_identity_required,
    page,
    session_of,
    user_of,
)

PHONE_ITEMS = {"mobile-phone": Item.MOBILE_PHONE, "office-phone": Item.OFFICE_PHONE}
REMOVABLE = {
    "email": Item.AUTH_EMAIL,
    **PHONE_ITEMS,
    "authenticator-app": Item.AUTHENTICATOR_APP,
    "security-questions": Item.SECURITY_QUESTIONS,
}


def _allowed_or_404(request: HttpRequest, item: Item) -> None:
    if item not in allowed_items(user_of(request), get_sspr_policy()):
        raise Http404


def _saved(request: HttpRequest, item: Item) -> HttpResponse:
    messages.success(request, _("Saved: %(item)s.") % {"item": item.label})
    return redirect("registration:overview")


@page
@fresh_identity_required
def email_view(request: HttpRequest) -> HttpResponse:
    _allowed_or_404(request, Item.AUTH_EMAIL)
    form = EmailForm(request.POST or None)
    alert = None
    if request.method == "POST" and form.is_valid():
        try:
            services.start_email_change(
                user=user_of(request),
                session=session_of(request),
                address=form.cleaned_data["address"],
                meta=request_meta(request),
            )
            return redirect("registration:confirm")
        except ValidationError as exc:
            form.add_error("address", exc)
        except ProofError as exc:
            alert = message_for(exc.code)
    focus_first_error(form)
    return render(request, "registration/email.html", {"form": form, "alert": alert})


@page
@fresh_identity_required
def phone_view(request: HttpRequest, which: str) -> HttpResponse:
    item = PHONE_ITEMS.get(which)
    if item is None:
        raise Http404
    _allowed_or_404(request, item)
    kinds = phone_kinds(item, get_sspr_policy())
    form = PhoneForm(request.POST or None, kinds=kinds)
    alert = None
    if request.method == "POST" and form.is_valid():
        try:
            services.start_phone_change(
                user=user_of(request),
                session=session_of(request),
                item=item,
                number=form.cleaned_data["number"],
                kind=MethodKind(form.cleaned_data["method"]),
                meta=request_meta(request),
            )
            return redirect("registration:confirm")
        except ValidationError as exc:
            form.add_error("number", exc)
        except ProofError as exc:
            alert = message_for(exc.code)
    focus_first_error(form)
    return render(
        request,
        "registration/phone.html",
        {"form": form, "alert": alert, "item": item, "one_way": len(kinds) == 1},
    )


@page
def confirm_view(request: HttpRequest) -> HttpResponse:
    """Prove the new address or number: type its code, or answer its call and continue."""
    user, session = user_of(request), session_of(request)
    proof = services.get_open_contact_proof(user, session)
    if proof is None:
        return redirect("registration:overview")

    def finish(answer: str) -> HttpResponse:
        item = services.finish_contact_change(
            user=user, session=session, answer=answer, meta=request_meta(request)
        )
        return _saved(request, item)

    def restart(code: str) -> HttpResponse:
        messages.error(request, message_for(code))
        return redirect("registration:overview")

    return answer_proof(
        request,
        proof,
        finish,
        on_restart=restart,
        identity=False,
        item=Item(proof.purpose),
        another_url="/security-info",
    )


@page
@fresh_identity_required
def app_view(request: HttpRequest) -> HttpResponse:
    """Start an app set-up (POST "begin"), show its QR code and secret, check its first code."""
    _allowed_or_404(request, Item.AUTHENTICATOR_APP)
    user, session, meta = user_of(request), session_of(request), request_meta(request)
    alert = None
    form = CodeForm(request.POST if request.POST.get("action") == "code" else None)
    try:
        if request.POST.get("action") == "begin":
            services.begin_app_setup(user=user, session=session, meta=meta)
            return redirect("registration:app")
        if form.is_bound and form.is_valid():
            services.finish_app_setup(
                user=user, session=session, code=form.cleaned_data["code"], meta=meta
            )
            return _saved(request, Item.AUTHENTICATOR_APP)
    except ProofError as exc:
        if exc.code in FIELD_MESSAGES:
            form.add_error("code", message_for(exc.code))
        else:
            alert = message_for(exc.code)
    setup = services.get_app_setup(user, session)
    qr = ""
    if setup is not None:
        qr = segno.make(setup.uri, error="m").svg_data_uri(scale=4, border=4)
    return render(
        request,
        "registration/app.html",
        {
            "form": form,
            "alert": alert,
            "setup": setup,
            "qr": qr,
            "secret_groups": [setup.secret[i : i + 4] for i in range(0, len(setup.secret), 4)]
            if setup
            else [],
        },
    )


@sensitive_post_parameters()
@page
@fresh_identity_required
def questions_view(request: HttpRequest) -> HttpResponse:
    _allowed_or_404(request, Item.SECURITY_QUESTIONS)
    count = get_sspr_policy().questions_to_register
    form = QuestionsForm(request.POST or None, count=count, questions=list_questions())
    alert = None
    if request.method == "POST" and not form.is_valid():
        # Say everything at once: the answers' own rules too, not only the form's.
        given = {
            key: form.cleaned_data[answer]
            for _q, answer, key in form.pairs()
            if key and answer in form.cleaned_data
        }
        field_of = {key: answer for _q, answer, key in form.pairs() if key}
        for problem in check_answers(user_of(request), given, required=0):
            if problem.key in field_of and not form.has_error(field_of[problem.key]):
                form.add_error(field_of[problem.key], problem.message)
    elif request.method == "POST":
        pairs = form.pairs()
        answers = {key: form.cleaned_data[answer] for _q, answer, key in pairs}
        try:
            problems = services.set_security_questions(
                user=user_of(request),
                session=session_of(request),
                answers=answers,
                meta=request_meta(request),
            )
        except ProofError as exc:
            problems, alert = [], message_for(exc.code)
        else:
            if not problems:
                return _saved(request, Item.SECURITY_QUESTIONS)
        field_of = {key: answer for _q, answer, key in pairs}
        for problem in problems:
            form.add_error(field_of.get(problem.key), problem.message)
    form.forget_wrong_answers()
    focus_first_error(form)
    return render(
        request,
        "registration/questions.html",
        {"form": form, "alert": alert, "count": count},
    )


@page
@fresh_identity_required
def remove_view(request: HttpRequest, which: str) -> HttpResponse:
    item = REMOVABLE.get(which)
    if item is None:
        raise Http404
    user = user_of(request)
    app_id = request.GET.get("app", "")
    entry = next(
        (
            e
            for e in get_security_info(user).entries
            if e.item == item and e.registered and (e.app_id is None or str(e.app_id) == app_id)
        ),
        None,
    )
    if entry is None:
        return redirect("registration:overview")
    if request.method == "POST":
        try:
            services.remove_method(
                user=user,
                session=session_of(request),
                item=item,
                app_id=entry.app_id,
                meta=request_meta(request),
            )
            messages.success(request, _("Removed: %(item)s.") % {"item": item.label})
        except ProofError as exc:
            messages.error(request, message_for(exc.code))
        return redirect("registration:overview")
    return render(request, "registration/remove.html", {"entry": entry})
