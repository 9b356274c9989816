"""The catalogue of audit activities: every name an audit event may carry.

An activity's value is what the ``AuditEvent.activity`` column stores. Values
never change once released: stored rows, exports and operators' SIEM rules
match on them. What people read is the translatable label, grouped by a
category; the console shows those. ``record_event`` refuses any activity that
isn't here, so a new kind of event is one new member and one category entry.

The column has no ``choices`` on purpose: a new activity must not need a
database migration, and rows written by an older or newer release stay
readable (an unknown value shows as itself).
"""

from collections.abc import Mapping
from types import MappingProxyType

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    """What an activity is about; the console filters the audit log by it."""

    SIGN_IN = "sign_in", _("Sign-in")
    RESET = "reset", _("Password reset")
    UNLOCK = "unlock", _("Account unlock")
    CHANGE = "change", _("Password change")
    REGISTRATION = "registration", _("Security info")
    DELIVERY = "delivery", _("Message delivery")
    ADMINISTRATION = "administration", _("Administration")
    DIRECTORY = "directory", _("Directory")
    REPORT = "report", _("Reports")


class Activity(models.TextChoices):
    """One kind of audit event; the value is stored, the label is shown."""

    SIGNIN_SUCCEEDED = "signin.succeeded", _("Signed in")
    SIGNIN_FAILED = "signin.failed", _("Sign-in failed")
    SIGNIN_LOCKED_OUT = "signin.locked_out", _("Locked out after wrong passwords")
    SIGNIN_UNLOCKED_BY_ADMIN = "signin.unlocked_by_admin", _("Sign-in lockout lifted by admin")

    PASSWORD_CHANGED = "password.changed", _("Password changed")
    PASSWORD_CHANGED_FORCED = "password.changed_forced", _("Required password change done")
    PASSWORD_CHANGE_FAILED = "password.change_failed", _("Password change failed")
    PASSWORD_RESET_BY_ADMIN = "password.reset_by_admin", _("Password reset by admin")

    RESET_STARTED = "reset.started", _("Reset started")
    RESET_OPERATION_CHOSEN = "reset.operation_chosen", _("Reset or unlock chosen")
    RESET_METHOD_STARTED = "reset.method_started", _("Verification started")
    RESET_METHOD_REFUSED = "reset.method_refused", _("Verification refused")
    RESET_GATE_PASSED = "reset.gate_passed", _("Verification passed")
    RESET_GATE_FAILED = "reset.gate_failed", _("Verification failed")
    RESET_BLOCKED = "reset.blocked", _("Blocked from self-service reset")
    RESET_BLOCK_LIFTED = "reset.block_lifted", _("Self-service reset block lifted")
    RESET_BUDGET_EXCEEDED = "reset.budget_exceeded", _("Phone budget exceeded")
    RESET_ADMIN_HELP_REQUESTED = "reset.admin_help_requested", _("Admin help requested")
    RESET_ADMIN_HELP_SENT = "reset.admin_help_sent", _("Admin help request sent")
    RESET_PASSWORD_REJECTED = "reset.password_rejected", _("New password rejected")
    RESET_COMPLETED = "reset.completed", _("Password reset completed")
    RESET_FAILED = "reset.failed", _("Password reset failed")

    UNLOCK_COMPLETED = "unlock.completed", _("Account unlocked")
    UNLOCK_FAILED = "unlock.failed", _("Account unlock failed")

    REGISTRATION_INTERRUPTED = "registration.interrupted", _("Sent to security info")
    REGISTRATION_SKIPPED = "registration.skipped", _("Security info skipped")
    REGISTRATION_REMINDED = "registration.reminded", _("Reminded to register security info")
    REGISTRATION_COMPLETED = "registration.completed", _("Security info registered")
    REGISTRATION_RECONFIRMED = "registration.reconfirmed", _("Security info reconfirmed")
    REGISTRATION_PROOF_STARTED = "registration.proof_started", _("Security info proof started")
    REGISTRATION_PROOF_REFUSED = "registration.proof_refused", _("Security info proof refused")
    REGISTRATION_PROOF_FAILED = "registration.proof_failed", _("Security info proof failed")
    REGISTRATION_CALL_ANSWERED = "registration.call_answered", _("Security info call answered")
    REGISTRATION_IDENTITY_VERIFIED = (
        "registration.identity_verified",
        _("Identity verified for security info"),
    )
    REGISTRATION_IDENTITY_BLOCKED = (
        "registration.identity_blocked",
        _("Blocked after too many wrong identity codes"),
    )
    REGISTRATION_METHOD_ADDED = "registration.method_added", _("Security info method added")
    REGISTRATION_METHOD_CHANGED = "registration.method_changed", _("Security info method changed")
    REGISTRATION_METHOD_REMOVED = "registration.method_removed", _("Security info method removed")
    REGISTRATION_CONTACT_SET_BY_ADMIN = (
        "registration.contact_set_by_admin",
        _("Contact details set by admin"),
    )
    REGISTRATION_CLEARED_BY_ADMIN = (
        "registration.cleared_by_admin",
        _("Security info cleared by admin"),
    )
    REGISTRATION_CUSTOM_QUESTION_DELETED = (
        "registration.custom_question_deleted",
        _("Custom security question deleted"),
    )

    DELIVERY_QUEUED = "delivery.queued", _("Message queued")
    DELIVERY_SENT = "delivery.sent", _("Message sent")
    DELIVERY_RETRY_SCHEDULED = "delivery.retry_scheduled", _("Message delivery retried later")
    DELIVERY_FAILED = "delivery.failed", _("Message delivery failed")
    DELIVERY_EXPIRED = "delivery.expired", _("Message expired unsent")
    DELIVERY_BODIES_ERASED = "delivery.bodies_erased", _("Old message texts erased")

    CONSOLE_OBJECT_CREATED = "console.object_created", _("Created in the console")
    CONSOLE_OBJECT_CHANGED = "console.object_changed", _("Changed in the console")
    CONSOLE_OBJECT_DELETED = "console.object_deleted", _("Deleted in the console")

    DIRECTORY_USER_CREATED = "directory.user_created", _("User created")
    DIRECTORY_GROUP_CREATED = "directory.group_created", _("Group created")
    DIRECTORY_ORGANISATION_CHANGED = "directory.organisation_changed", _("Organisation changed")
    DIRECTORY_SYNC_COMPLETED = "directory.sync_completed", _("Directory sync completed")
    DIRECTORY_SYNC_FAILED = "directory.sync_failed", _("Directory sync failed")
    DIRECTORY_SYNC_USER_ENABLED = "directory.sync_user_enabled", _("Account enabled by sync")
    DIRECTORY_SYNC_USER_DISABLED = "directory.sync_user_disabled", _("Account disabled by sync")
    DIRECTORY_SYNC_ROLES_CHANGED = "directory.sync_roles_changed", _("Roles changed by sync")
    DIRECTORY_CHECKED = "directory.checked", _("Directory checked")
    AGENT_CREATED = "agent.created", _("On-premises agent added")
    AGENT_ENROLLED = "agent.enrolled", _("On-premises agent enrolled")
    AGENT_ENROLMENT_REFUSED = "agent.enrolment_refused", _("Agent enrolment refused")
    AGENT_REVOKED = "agent.revoked", _("On-premises agent revoked")

    ACCESS_PASS_ISSUED = "access_pass.issued", _("Temporary access pass issued")
    ACCESS_PASS_REVOKED = "access_pass.revoked", _("Temporary access pass revoked")
    ACCESS_PASS_USED = "access_pass.used", _("Signed in with a temporary access pass")
    ACCESS_PASS_REFUSED = "access_pass.refused", _("Temporary access pass refused")

    RECOVERY_REQUESTED = "recovery.requested", _("Recovery requested (no methods left)")
    RECOVERY_TAKEN = "recovery.taken", _("Recovery request taken by the helpdesk")
    RECOVERY_IDENTITY_CONFIRMED = (
        "recovery.identity_confirmed",
        _("Identity confirmed by the helpdesk"),
    )
    RECOVERY_CLOSED = "recovery.closed", _("Recovery request closed")

    REPORT_REGISTRATIONS_EXPORTED = "report.registrations_exported", _("Registrations exported")
    AUDIT_EXPORTED = "audit.exported", _("Audit log exported")

    @property
    def category(self) -> Category:
        """The group this activity is shown and filtered under."""
        return CATEGORY_OF[self]


_MEMBERS: dict[Category, tuple[Activity, ...]] = {
    Category.SIGN_IN: (
        Activity.SIGNIN_SUCCEEDED,
        Activity.SIGNIN_FAILED,
        Activity.SIGNIN_LOCKED_OUT,
        Activity.ACCESS_PASS_USED,
        Activity.ACCESS_PASS_REFUSED,
    ),
    Category.CHANGE: (
        Activity.PASSWORD_CHANGED,
        Activity.PASSWORD_CHANGED_FORCED,
        Activity.PASSWORD_CHANGE_FAILED,
    ),
    Category.RESET: (
        Activity.RESET_STARTED,
        Activity.RESET_OPERATION_CHOSEN,
        Activity.RESET_METHOD_STARTED,
        Activity.RESET_METHOD_REFUSED,
        Activity.RESET_GATE_PASSED,
        Activity.RESET_GATE_FAILED,
        Activity.RESET_BLOCKED,
        Activity.RESET_BUDGET_EXCEEDED,
        Activity.RESET_ADMIN_HELP_REQUESTED,
        Activity.RESET_ADMIN_HELP_SENT,
        Activity.RECOVERY_REQUESTED,
        Activity.RESET_PASSWORD_REJECTED,
        Activity.RESET_COMPLETED,
        Activity.RESET_FAILED,
    ),
    Category.UNLOCK: (
        Activity.UNLOCK_COMPLETED,
        Activity.UNLOCK_FAILED,
    ),
    Category.REGISTRATION: (
        Activity.REGISTRATION_INTERRUPTED,
        Activity.REGISTRATION_SKIPPED,
        Activity.REGISTRATION_REMINDED,
        Activity.REGISTRATION_COMPLETED,
        Activity.REGISTRATION_RECONFIRMED,
        Activity.REGISTRATION_PROOF_STARTED,
        Activity.REGISTRATION_PROOF_REFUSED,
        Activity.REGISTRATION_PROOF_FAILED,
        Activity.REGISTRATION_CALL_ANSWERED,
        Activity.REGISTRATION_IDENTITY_VERIFIED,
        Activity.REGISTRATION_IDENTITY_BLOCKED,
        Activity.REGISTRATION_METHOD_ADDED,
        Activity.REGISTRATION_METHOD_CHANGED,
        Activity.REGISTRATION_METHOD_REMOVED,
    ),
    Category.DELIVERY: (
        Activity.DELIVERY_QUEUED,
        Activity.DELIVERY_SENT,
        Activity.DELIVERY_RETRY_SCHEDULED,
        Activity.DELIVERY_FAILED,
        Activity.DELIVERY_EXPIRED,
        Activity.DELIVERY_BODIES_ERASED,
    ),
    Category.ADMINISTRATION: (
        Activity.SIGNIN_UNLOCKED_BY_ADMIN,
        Activity.PASSWORD_RESET_BY_ADMIN,
        Activity.RESET_BLOCK_LIFTED,
        Activity.ACCESS_PASS_ISSUED,
        Activity.ACCESS_PASS_REVOKED,
        Activity.RECOVERY_TAKEN,
        Activity.RECOVERY_IDENTITY_CONFIRMED,
        Activity.RECOVERY_CLOSED,
        Activity.REGISTRATION_CONTACT_SET_BY_ADMIN,
        Activity.REGISTRATION_CLEARED_BY_ADMIN,
        Activity.REGISTRATION_CUSTOM_QUESTION_DELETED,
        Activity.CONSOLE_OBJECT_CREATED,
        Activity.CONSOLE_OBJECT_CHANGED,
        Activity.CONSOLE_OBJECT_DELETED,
    ),
    Category.DIRECTORY: (
        Activity.DIRECTORY_USER_CREATED,
        Activity.DIRECTORY_GROUP_CREATED,
        Activity.DIRECTORY_ORGANISATION_CHANGED,
        Activity.DIRECTORY_SYNC_COMPLETED,
        Activity.DIRECTORY_SYNC_FAILED,
        Activity.DIRECTORY_SYNC_USER_ENABLED,
        Activity.DIRECTORY_SYNC_USER_DISABLED,
        Activity.DIRECTORY_SYNC_ROLES_CHANGED,
        Activity.DIRECTORY_CHECKED,
        Activity.AGENT_CREATED,
        Activity.AGENT_ENROLLED,
        Activity.AGENT_ENROLMENT_REFUSED,
        Activity.AGENT_REVOKED,
    ),
    Category.REPORT: (Activity.REPORT_REGISTRATIONS_EXPORTED, Activity.AUDIT_EXPORTED),
}

CATEGORY_OF: Mapping[Activity, Category] = MappingProxyType(
    {activity: category for category, members in _MEMBERS.items() for activity in members}
)

_unplaced = set(Activity) - set(CATEGORY_OF)
_twice = sum(len(m) for m in _MEMBERS.values()) - len(CATEGORY_OF)
if _unplaced or _twice:  # pragma: no cover - a catalogue edit that forgot its category
    raise RuntimeError(f"audit activities need exactly one category: {_unplaced or _twice}")


class UnknownActivityError(ValueError):
    """An audit event named an activity that isn't in the catalogue."""


def to_activity(value: str) -> Activity:
    """The catalogue member for ``value``, or ``UnknownActivityError``.

    Strict on purpose: a free string in a call site is a typo or an event the
    console can't label, and a test run must fail on it, not store it.
    """
    try:
        return Activity(value)
    except ValueError:
        raise UnknownActivityError(f"{value!r} is not in the audit activity catalogue") from None


def activities_in(category: Category | str) -> tuple[Activity, ...]:
    """The activities of one category, in catalogue order (the console's filter)."""
    return _MEMBERS.get(Category(category), ())


def label_for(value: str) -> str:
    """What people read for a stored activity; an unknown stored value shows as itself."""
    try:
        return str(Activity(value).label)
    except ValueError:
        return value
