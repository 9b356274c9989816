"""One catalogue of audit activities: stable values, a label and a category each, no free strings."""

import ast
from pathlib import Path

import pytest
from django.utils import translation

import opensspr
from opensspr.audit.activities import (
    CATEGORY_OF,
    Activity,
    Category,
    UnknownActivityError,
    activities_in,
    label_for,
)
from opensspr.audit.models import AuditEvent, Outcome
from opensspr.audit.services import record_event

PACKAGE = Path(opensspr.__file__).parent

# The values rows already hold: renaming one would orphan stored events and SIEM rules.
RELEASED = {
    "signin.succeeded", "signin.failed", "signin.locked_out", "signin.unlocked_by_admin",
    "password.changed", "password.changed_forced", "password.change_failed",
    "password.reset_by_admin", "reset.started", "reset.operation_chosen",
    "reset.method_started", "reset.method_refused", "reset.gate_passed", "reset.gate_failed",
    "reset.blocked", "reset.block_lifted", "reset.budget_exceeded",
    "reset.admin_help_requested", "reset.admin_help_sent", "reset.password_rejected",
    "reset.completed", "reset.failed", "unlock.completed", "unlock.failed",
    "registration.interrupted", "registration.skipped", "registration.completed",
    "registration.reconfirmed", "registration.proof_started", "registration.proof_refused",
    "registration.proof_failed", "registration.call_answered",
    "registration.identity_verified", "registration.method_added",
    "registration.method_changed", "registration.method_removed",
    "registration.contact_set_by_admin", "registration.cleared_by_admin",
    "registration.custom_question_deleted", "delivery.queued", "delivery.sent",
    "delivery.retry_scheduled", "delivery.failed", "delivery.expired",
    "delivery.bodies_erased", "console.object_created", "console.object_changed",
    "console.object_deleted", "directory.user_created", "directory.group_created",
    "directory.organisation_changed", "report.registrations_exported",
}  # fmt: skip


def test_every_released_activity_value_is_kept():
    assert set(Activity.values) >= RELEASED


def test_every_activity_has_one_category_and_a_label_of_its_own():
    assert set(CATEGORY_OF) == set(Activity)
    assert all(activities_in(c) for c in Category)
    labels = [str(a.label) for a in Activity]
    assert len(set(labels)) == len(labels)
    assert all(label != a.value for label, a in zip(labels, Activity, strict=True))


def test_labels_are_translated_to_dutch():
    with translation.override("nl"):
        assert str(Activity.SIGNIN_FAILED.label) != "Sign-in failed"
        assert str(Category.SIGN_IN.label) != "Sign-in"


def test_a_stored_value_unknown_to_this_release_shows_as_itself():
    assert label_for("signin.failed") == "Sign-in failed"
    assert label_for("agent.heartbeat") == "agent.heartbeat"


@pytest.mark.django_db
def test_record_event_refuses_a_string_outside_the_catalogue(meta):
    with pytest.raises(UnknownActivityError):
        record_event(activity="signin.faild", outcome=Outcome.FAILURE, meta=meta)
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_record_event_stores_the_catalogue_value(meta):
    event = record_event(activity=Activity.SIGNIN_FAILED, outcome=Outcome.FAILURE, meta=meta)
    event.refresh_from_db()
    assert event.activity == "signin.failed"


# --- every call site, statically -----------------------------------------------------


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" not in path.parts:
            where = str(path.relative_to(PACKAGE.parent))
            yield where, ast.parse(path.read_text(encoding="utf-8"), filename=where)


MODULES = list(_modules())


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _activity_argument(call: ast.Call, position: int | None) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "activity":
            return keyword.value
    if position is not None and position < len(call.args):
        return call.args[position]
    return None


def _audit_helpers(modules) -> dict[str, int | None]:
    """``record_event`` and every function that hands a parameter on to it as the activity.

    Repeated until nothing new turns up, so a helper of a helper counts too. The
    value is the parameter's position (``None``: passed by keyword only).
    """
    helpers: dict[str, int | None] = {"record_event": None}
    functions = [f for _, tree in modules for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)]
    grown = True
    while grown:
        grown = False
        for func in functions:
            params = [a.arg for a in func.args.posonlyargs + func.args.args]
            for call in ast.walk(func):
                if not isinstance(call, ast.Call) or _name(call.func) not in helpers:
                    continue
                arg = _activity_argument(call, helpers[_name(call.func)])
                if isinstance(arg, ast.Name) and arg.id in params and func.name not in helpers:
                    helpers[func.name] = params.index(arg.id)
                    grown = True
    return helpers


def _activity_expressions(node: ast.expr):
    """The leaves an activity argument can evaluate to (through ``x if c else y``)."""
    if isinstance(node, ast.IfExp):
        yield from _activity_expressions(node.body)
        yield from _activity_expressions(node.orelse)
    else:
        yield node


def _call_sites(modules):
    """(where, leaf) for every expression an audit call site may pass as its activity."""
    helpers = _audit_helpers(modules)
    for where, tree in modules:
        for call in ast.walk(tree):
            if isinstance(call, ast.Call) and _name(call.func) in helpers:
                arg = _activity_argument(call, helpers[_name(call.func)])
                for leaf in _activity_expressions(arg) if arg is not None else ():
                    yield f"{where}:{call.lineno}", leaf


def _problems(modules) -> list[str]:
    problems = []
    for where, leaf in _call_sites(modules):
        if isinstance(leaf, ast.Constant) and leaf.value not in Activity.values:
            problems.append(f"{where}: {leaf.value!r} is not in the catalogue")
        elif isinstance(leaf, ast.JoinedStr):
            problems.append(f"{where}: an f-string activity can't be checked")
        elif (
            isinstance(leaf, ast.Attribute)
            and _name(leaf.value) == "Activity"
            and leaf.attr not in Activity.__members__
        ):
            problems.append(f"{where}: Activity.{leaf.attr} does not exist")
    return problems


def test_the_call_site_walk_finds_the_helpers_it_must_check():
    assert len(_audit_helpers(MODULES)) > 1  # record_event and at least one audit(...) helper
    assert len(list(_call_sites(MODULES))) > 50


def test_every_audit_call_site_names_a_catalogued_activity():
    assert _problems(MODULES) == []


def test_the_call_site_walk_fails_on_a_free_string():
    """The walk above would prove nothing if it could not fail."""
    snippet = """
def audit(user, activity, meta):
    record_event(activity=activity, outcome=SUCCESS, meta=meta)

def relay(flow, what):
    audit(flow.user, what, None)

audit(u, "signin.faild", m)
audit(u, Activity.SIGNIN_FAILED if ok else "nope.never", m)
relay(flow, "also.unknown")
record_event(activity=f"registration.method_{action}", outcome=o, meta=m)
record_event(activity=Activity.NO_SUCH_THING, outcome=o, meta=m)
record_event(activity=Activity.SIGNIN_FAILED, outcome=o, meta=m)
audit(u, "signin.failed", m)
"""
    problems = _problems([("snippet.py", ast.parse(snippet))])
    assert [p.split(": ", 1)[1] for p in problems] == [
        "'signin.faild' is not in the catalogue",
        "'nope.never' is not in the catalogue",
        "'also.unknown' is not in the catalogue",
        "an f-string activity can't be checked",
        "Activity.NO_SUCH_THING does not exist",
    ]


def test_every_call_site_names_a_catalogue_member():
    """No module passes a free string: each names ``Activity.X``, so a typo can't import."""
    literal = {where for where, leaf in _call_sites(MODULES) if isinstance(leaf, ast.Constant)}
    assert literal == set()
