"""The reset portal's pages: which page shows the flow's state, with what, and the session.

``reset_views`` parses what a person posts and calls the engine; this module decides what
they see next. Everything here depends only on what the engine shows (``FlowView``), which
is the same for every user ID (attack A1).
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from opensspr.core import clock
from opensspr.directory.messages import policy_lines
from opensspr.directory.onprem import password_policy_of
from opensspr.policy.kinds import MethodKind
from opensspr.policy.passwords import describe_policy
from opensspr.policy.selectors import get_password_profile, password_context_for
from opensspr.portal import reset_messages as texts
from opensspr.portal.reset_forms import (
    CodeForm,
    MethodForm,
    NewPasswordForm,
    OperationForm,
    QuestionsForm,
)
from opensspr.resets.flow import MAX_PASSWORD_TRIES, FlowError, FlowView, get_flow, load_flow
from opensspr.resets.helpdesk import get_helpdesk_link
from opensspr.resets.models import FlowState

SESSION_KEY = "opensspr_reset"
TYPED_KEY = "opensspr_reset_typed"  # the user ID as typed, shown on every step (a typo shows)
# Which flow of this browser a page belongs to: each start counts up; every flow form posts
# the number it was drawn with, so a page left open in another window can't act on a newer
# flow (issue 12 item 12). DONE_KEY remembers the number of the flow that finished last.
SEQ_KEY = "opensspr_reset_seq"
DONE_KEY = "opensspr_reset_done"
VOICE_KINDS = frozenset({MethodKind.MOBILE_VOICE, MethodKind.OFFICE_VOICE})
_KIND_ORDER = list(MethodKind)


# --- session and rendering -------------------------------------------------------------


def keep(request: HttpRequest, handle: str) -> None:
    """Remember the flow's new handle and rotate the session key (attack A9)."""
    request.session[SESSION_KEY] = handle
    request.session.cycle_key()


def current_handle(request: HttpRequest) -> str | None:
    handle = request.session.get(SESSION_KEY)
    return handle if isinstance(handle, str) and handle else None


def render_page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    context.setdefault("helpdesk", get_helpdesk_link())
    context.setdefault("has_flow", current_handle(request) is not None)
    if context["has_flow"]:
        context.setdefault("typed_id", request.session.get(TYPED_KEY, ""))
        context.setdefault("flow_seq", request.session.get(SEQ_KEY, 0))
    return render(request, f"reset/{template}.html", context)


def ended(request: HttpRequest, code: str) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    message = texts.ENDED_MESSAGES.get(code, texts.ENDED_MESSAGES["flow_not_found"])
    context = {"message": message, "has_flow": False, "already_done": code == "already_done"}
    return render_page(request, "ended", context)


def ordered_options(view: FlowView) -> list[Any]:
    """The engine's options in one fixed order, so the order says nothing about the ID."""
    return sorted(view.options, key=lambda o: _KIND_ORDER.index(o.kind))


def state_page(
    request: HttpRequest,
    view: FlowView,
    *,
    form: Any = None,
    alert: object = None,
    moved: object = None,
) -> HttpResponse:
    """The page for the flow's current state.

    ``form`` is the submitted form, shown again with its errors when it belongs
    to this page. When the flow has moved on meanwhile (a code expired, another
    window took a step), the page of the new state is shown with ``moved`` (or a
    "this is where you are" note) above it.
    """
    page = page_of(view)
    expected = _FORM_OF.get(page)
    if form is not None and type(form) is not expected:
        form, alert = None, alert or moved or texts.PAGE_MESSAGES["wrong_step"]
    context: dict[str, Any] = {"view": view, "alert": alert}
    if expected is MethodForm:
        context["form"] = form if form is not None else MethodForm(options=ordered_options(view))
    elif expected is QuestionsForm:
        questions = view.challenge.questions if view.challenge else ()
        context["form"] = form if form is not None else QuestionsForm(questions=questions)
    elif expected is not None:
        context["form"] = form if form is not None else expected()
    if page == "new_password":
        context.update(password_facts(view))
    elif page == "done":
        request.session.pop(SESSION_KEY, None)  # nothing more to do with this flow
        request.session[DONE_KEY] = request.session.get(SEQ_KEY, 0)
        context["has_flow"] = False
    elif page == "blocked":
        context["message"] = texts.blocked_message(view.blocked_reason)
        context["public_code"] = texts.public_code(view.blocked_reason)
    return render_page(request, page, context)


def page_of(view: FlowView) -> str:
    if view.state == FlowState.VERIFY:
        if view.challenge is None:
            return "verify"
        if view.challenge.kind == MethodKind.SECURITY_QUESTIONS:
            return "questions"
        return "call" if view.challenge.kind in VOICE_KINDS else "code"
    if view.state == FlowState.WRITING:
        # An earlier "Finish" lost the directory's answer: the same page, and the next
        # submission first finds out whether that write arrived (flow.writeback).
        return "new_password"
    return str(view.state)


_FORM_OF: dict[str, type] = {
    "choose_operation": OperationForm,
    "verify": MethodForm,
    "code": CodeForm,
    "questions": QuestionsForm,
    "new_password": NewPasswordForm,
}


def password_facts(view: FlowView) -> dict[str, Any]:
    """Requirements for this person's password, and the tries left (reads only)."""
    flow = load_flow(view.handle, clock.now())
    requirements = (
        describe_policy(get_password_profile(), password_context_for(flow.user))
        if flow.user
        else []
    )
    return {
        "requirements": requirements,
        "directory_requirements": policy_lines(password_policy_of(flow.user)),
        "tries_left": max(MAX_PASSWORD_TRIES - flow.password_attempts, 0),
    }


def current(request: HttpRequest, handle: str, **kwargs: Any) -> HttpResponse:
    """Show where the flow is now (after a refused step), or that it has ended."""
    try:
        view = get_flow(handle=handle)
    except FlowError as exc:
        return ended(request, exc.code)
    return state_page(request, view, **kwargs)
