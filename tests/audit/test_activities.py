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
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


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


def _audit_helpers() -> dict[str, int | None]:
    """``record_event`` and every function that hands one of its parameters to it as activity."""
    helpers: dict[str, int | None] = {"record_event": None}
    for _, tree in _modules():
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef):
                continue
            params = [a.arg for a in func.args.posonlyargs + func.args.args]
            for call in ast.walk(func):
                if isinstance(call, ast.Call) and _name(call.func) == "record_event":
                    arg = _activity_argument(call, None)
                    if isinstance(arg, ast.Name) and arg.id in params:
                        helpers[func.name] = params.index(arg.id)
    return helpers


def _activity_expressions(node: ast.expr):
    """The leaves an activity argument can evaluate to (through ``x if c else y``)."""
    if isinstance(node, ast.IfExp):
        yield from _activity_expressions(node.body)
        yield from _activity_expressions(node.orelse)
    else:
        yield node


def _problems_at_call_sites():
    helpers = _audit_helpers()
    assert {"record_event", "audit", "_audit"} <= set(helpers)
    for path, tree in _modules():
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call) or _name(call.func) not in helpers:
                continue
            arg = _activity_argument(call, helpers[_name(call.func)])
            where = f"{path.relative_to(PACKAGE.parent)}:{call.lineno}"
            for leaf in _activity_expressions(arg) if arg is not None else ():
                if isinstance(leaf, ast.Constant):
                    if leaf.value not in Activity.values:
                        yield f"{where}: {leaf.value!r} is not in the catalogue"
                elif isinstance(leaf, ast.JoinedStr):
                    yield f"{where}: an f-string activity can't be checked"
                elif (
                    isinstance(leaf, ast.Attribute)
                    and _name(leaf.value) == "Activity"
                    and leaf.attr not in Activity.__members__
                ):
                    yield f"{where}: Activity.{leaf.attr} does not exist"


def test_every_audit_call_site_names_a_catalogued_activity():
    assert list(_problems_at_call_sites()) == []


def test_literal_activity_strings_are_only_left_in_files_being_rewritten():
    """Converted modules name ``Activity.X``; the four listed are converted after their rewrite."""
    pending = {
        "opensspr/resets/flow.py",
        "opensspr/resets/completion.py",
        "opensspr/registration/proofs.py",
        "opensspr/registration/identity.py",
    }
    helpers = _audit_helpers()
    literal = set()
    for path, tree in _modules():
        for call in ast.walk(tree):
            if isinstance(call, ast.Call) and _name(call.func) in helpers:
                arg = _activity_argument(call, helpers[_name(call.func)])
                leaves = _activity_expressions(arg) if arg is not None else ()
                if any(isinstance(leaf, ast.Constant) for leaf in leaves):
                    literal.add(str(path.relative_to(PACKAGE.parent)))
    assert literal <= pending
