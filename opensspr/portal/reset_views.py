"""The reset portal: "Get back into your account", as thin pages over the flow engine.

The views parse forms, call one engine service and render; they never change
state themselves. Invariants:

* The session holds only the flow's opaque handle (``SESSION_KEY``); no handle
  or code is ever in a URL. After every step the engine takes, the new handle
  replaces the old one and the session key is rotated (attack A9).
* Every change is a POST with a CSRF token, answered by a redirect to the flow
  page (post/redirect/get); a POST is answered with a page only to show what
  was wrong with it.
* The pages depend only on what the engine shows, which is the same for every
  user ID (attack A1); errors map to fixed sentences (``reset_messages``).
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from opensspr.core.forms import focus_first_error
from opensspr.core.request_meta import request_meta
from opensspr.methods.questions import Question
from opensspr.policy.kinds import MethodKind
from opensspr.portal import reset_messages as texts
from opensspr.portal import reset_pages as pages
from opensspr.portal.reset_forms import (
    CONTACT_FIELDS,
    PHONE_KINDS,
    CodeForm,
    MethodForm,
    NewPasswordForm,
    OperationForm,
    QuestionsForm,
    StartForm,
    contact_field_name,
)
from opensspr.portal.reset_pages import DONE_KEY, SEQ_KEY, TYPED_KEY
from opensspr.resets.flow import (
    FlowBlockedError,
    FlowError,
    FlowView,
    PasswordRejectedError,
    begin_verification,
    change_method,
    choose_operation,
    get_flow,
    set_new_password,
    start_flow,
    submit_verification,
)
from opensspr.resets.helpdesk import HelpdeskKind, get_helpdesk_link, request_admin_help
from opensspr.resets.models import FlowState, Operation

ANSWER_FIELDS = tuple(f"answer_{n}" for n in range(1, 11))


# --- the start page --------------------------------------------------------------------


@sensitive_post_parameters("user_id")  # people sometimes type a password there
@never_cache
@require_http_methods(["GET", "POST"])
def start_view(request: HttpRequest) -> HttpResponse:
    """The "Get back into your account" page: the user ID and the captcha, then the flow."""
    if request.method == "POST":
        form = StartForm(request.POST)
        if form.is_valid():
            meta = request_meta(request)
            view = start_flow(identifier=form.cleaned_data["user_id"], meta=meta)
            pages.keep(request, view.handle)
            request.session[TYPED_KEY] = form.cleaned_data["user_id"][:256]
            request.session[SEQ_KEY] = int(request.session.get(SEQ_KEY, 0)) + 1
            if request.POST.get("action") == "contact_admin":
                return _ask_for_help(request, view.handle)
            return redirect("reset:flow")
        focus_first_error(form)
    else:
        form = StartForm(initial={"user_id": request.GET.get("username", "")[:256]})
    return pages.render_page(
        request, "start", {"form": form, "has_flow": False, "contact_in_form": True}
    )


# --- the flow page ---------------------------------------------------------------------


@sensitive_post_parameters(
    "code", "new_password", "confirm_password", *CONTACT_FIELDS, *ANSWER_FIELDS
)
@never_cache
@require_http_methods(["GET", "POST"])
def flow_view(request: HttpRequest) -> HttpResponse:
    handle = pages.current_handle(request)
    posted = request.POST.get("flow_seq", "") if request.method == "POST" else ""
    if handle is None:
        if posted and posted == str(request.session.get(DONE_KEY, "")):
            return pages.ended(request, "already_done")  # finished in another window
        return redirect("reset:start")  # a fresh session can only start (attack A16)
    if request.method == "GET":
        return pages.current(request, handle)
    if posted and posted != str(request.session.get(SEQ_KEY, 0)):
        # A page of an earlier flow, left open in another window: nothing is submitted.
        return pages.current(request, handle, alert=texts.PAGE_MESSAGES["replaced_flow"])
    action = _ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        return redirect("reset:flow")
    return action(request, handle)


def _step(
    request: HttpRequest,
    handle: str,
    call: Callable[[], FlowView],
    *,
    form: Any = None,
    field: str | None = None,
) -> HttpResponse:
    """Run one engine step; on success keep the new handle and redirect (PRG)."""
    try:
        view = call()
    except FlowBlockedError as exc:
        pages.keep(request, exc.view.handle)
        return redirect("reset:flow")
    except FlowError as exc:
        return _refused(
            request,
            handle,
            exc.code,
            form=form,
            field=field,
            tries_left=exc.tries_left,
            retry_after=exc.retry_after,
        )
    pages.keep(request, view.handle)
    return redirect("reset:flow")


def _refused(
    request: HttpRequest,
    handle: str,
    code: str,
    *,
    form: Any,
    field: str | None,
    tries_left: int | None = None,
    retry_after: int | None = None,
) -> HttpResponse:
    if code in texts.ENDED:
        return pages.ended(request, code)
    if code == "flow_conflict":
        # The other submission moved the flow on and holds its new handle; the
        # browser's newest session shows where it is now.
        messages.warning(request, str(texts.PAGE_MESSAGES["flow_conflict"]))
        return redirect("reset:flow")
    message: Promise | str = texts.message_for(code)
    if retry_after is not None:  # a short pause after wrong answers in a row
        message = f"{message} {texts.wait(retry_after)}"
    if tries_left is not None:  # warned before the last tries, the same for every ID
        message = f"{message} {texts.tries_left(tries_left)}"
    if form is not None and field and code in texts.FIELD_MESSAGES:
        form.add_error(field, message)
        typed = str(form.data.get(field, "")).strip()
        if code == "contact_mismatch" and _is_phone_field(field) and not typed.startswith("+"):
            form.add_error(field, texts.PHONE_FORMAT_HINT)
        focus_first_error(form)
        return pages.current(request, handle, form=form, moved=message)
    return pages.current(request, handle, alert=message)


def _is_phone_field(field: str) -> bool:
    return any(field == contact_field_name(kind) for kind in PHONE_KINDS)


def _choose_operation(request: HttpRequest, handle: str) -> HttpResponse:
    form = OperationForm(request.POST)
    if not form.is_valid():
        return pages.current(request, handle, form=form)
    operation = Operation(form.cleaned_data["operation"])
    return _step(
        request,
        handle,
        lambda: choose_operation(handle=handle, operation=operation, meta=request_meta(request)),
    )


def _begin(request: HttpRequest, handle: str) -> HttpResponse:
    try:
        view = get_flow(handle=handle)
    except FlowError as exc:
        return pages.ended(request, exc.code)
    if view.state != FlowState.VERIFY or view.challenge is not None:
        return pages.state_page(request, view, alert=texts.PAGE_MESSAGES["wrong_step"])
    form = MethodForm(request.POST, options=pages.ordered_options(view))
    if not form.is_valid():
        focus_first_error(form)
        return pages.state_page(request, view, form=form)
    option = form.chosen_option()
    assert option is not None  # a valid form has a chosen, offered method
    return _step(
        request,
        handle,
        lambda: begin_verification(
            handle=handle, kind=option.kind, contact=form.contact(), meta=request_meta(request)
        ),
        form=form,
        field=contact_field_name(option.kind),
    )


def _answer(request: HttpRequest, handle: str) -> HttpResponse:
    try:
        view = get_flow(handle=handle)
    except FlowError as exc:
        return pages.ended(request, exc.code)
    challenge = view.challenge
    if challenge is not None and challenge.kind == MethodKind.SECURITY_QUESTIONS:
        return _answer_questions(request, handle, challenge.questions)
    form = CodeForm(request.POST)
    if not form.is_valid():
        focus_first_error(form)
        return pages.current(request, handle, form=form)
    return _step(
        request,
        handle,
        lambda: submit_verification(
            handle=handle, answer=form.cleaned_data["code"], meta=request_meta(request)
        ),
        form=form,
        field="code",
    )


def _answer_questions(
    request: HttpRequest, handle: str, questions: tuple[Question, ...]
) -> HttpResponse:
    form = QuestionsForm(request.POST, questions=questions)
    if not form.is_valid():
        focus_first_error(form)
        return pages.current(request, handle, form=form)
    # A wrong set is told at the top: naming the wrong answer would help a guesser.
    return _step(
        request,
        handle,
        lambda: submit_verification(
            handle=handle, answer=form.answers(), meta=request_meta(request)
        ),
    )


def _call_done(request: HttpRequest, handle: str) -> HttpResponse:
    return _step(
        request,
        handle,
        lambda: submit_verification(handle=handle, answer="", meta=request_meta(request)),
    )


def _another(request: HttpRequest, handle: str) -> HttpResponse:
    return _step(request, handle, lambda: change_method(handle=handle, meta=request_meta(request)))


def _password(request: HttpRequest, handle: str) -> HttpResponse:
    form = NewPasswordForm(request.POST)
    if not form.is_valid():
        focus_first_error(form)
        return pages.current(request, handle, form=form)
    try:
        view = set_new_password(
            handle=handle,
            new_password=form.cleaned_data["new_password"],
            meta=request_meta(request),
        )
    except PasswordRejectedError as exc:
        pages.keep(request, exc.view.handle)
        if exc.view.state != FlowState.NEW_PASSWORD:
            return redirect("reset:flow")
        for message in [str(f.message) for f in exc.failures] or [
            str(texts.rejection_message(exc.code))
        ]:
            form.add_error("new_password", message)
        focus_first_error(form)
        return pages.state_page(request, exc.view, form=form)
    except FlowError as exc:
        return _refused(request, handle, exc.code, form=None, field=None)
    pages.keep(request, view.handle)
    return redirect("reset:flow")


def _ask_for_help(request: HttpRequest, handle: str) -> HttpResponse:
    if get_helpdesk_link().kind == HelpdeskKind.REQUEST:
        try:
            request_admin_help(handle=handle, meta=request_meta(request))
        except FlowError as exc:
            return pages.ended(request, exc.code)
        messages.success(request, _("We've asked your administrators to help you."))
    return redirect("reset:flow")


_ACTIONS: dict[str, Callable[[HttpRequest, str], HttpResponse]] = {
    "operation": _choose_operation,
    "method": _begin,
    "answer": _answer,
    "call_done": _call_done,
    "another": _another,
    "password": _password,
    "contact_admin": _ask_for_help,
}
