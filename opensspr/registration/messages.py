"""What the security-info pages say for each outcome: proof refusals and eligibility reasons.

A signed-in person is told plainly why they can't reset yet: unlike the reset
portal, nothing here can tell a stranger anything about another account.
"""

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from opensspr.policy.eligibility import Reason

#: Codes shown beside the code or password field.
FIELD_MESSAGES: dict[str, Promise] = {
    "invalid_code": _("That code isn't right. Check it and try again."),
    "invalid_code_paused": _(
        "That code isn't right. There have been several wrong codes in a row, so for your "
        "security wait a minute or two before the next try."
    ),
    "wrong_password": _("That password isn't right. Try again."),
}

#: Codes shown at the top of the page.
PAGE_MESSAGES: dict[str, Promise] = {
    "code_dead": _("That code was tried too many times and no longer works. Ask for a new one."),
    "code_expired": _("That code has expired. Ask for a new one."),
    "code_used": _("That code was already used. Ask for a new one."),
    "call_not_answered": _(
        "We haven't had your answer yet. Answer the call and press #, then select Continue."
    ),
    "throttled": _("There have been too many wrong codes. Wait an hour, then try again."),
    "paused": _(
        "There have been several wrong codes in a row. For your security, wait a minute or "
        "two, then try again."
    ),
    "blocked_today": _(
        "There have been too many wrong codes for your account. For your security, changing "
        "your security info and resetting your password yourself are blocked for 24 hours. "
        "We've told you by email and text; if it wasn't you, contact your helpdesk."
    ),
    "too_many_sends": _(
        "We've sent as many codes and calls as we can for now. Wait a while, then try again."
    ),
    "send_held": _(
        "We've just sent a code or placed a call to this address or number. To keep "
        "inboxes and phones from being flooded, we send at most one a minute and 3 in 15 "
        "minutes to each. Wait a few minutes, then try again, or choose another way."
    ),
    "phone_budget": _(
        "We can't send texts or place calls right now. Try again later, or use another method."
    ),
    "method_unavailable": _("That way to verify isn't available. Choose another one."),
    "method_required": _("Verify with one of the methods you registered."),
    "identity_required": _(
        "For your security, verify it's you again before you change your security info."
    ),
    "no_open_proof": _("That step has ended. Start it again."),
    "nothing_to_remove": _("That was already removed."),
    "same_as_other": _(
        "That number is now registered as your other phone. One number counts as one "
        "method only: enter a different one."
    ),
    "too_many_apps": _("You have as many authenticator apps as allowed. Remove one first."),
    "not_enough_methods": _("You haven't registered enough methods yet."),
    "account_locked": _(
        "Your account is locked for now after too many wrong passwords. Try again later."
    ),
    "directory_unavailable": _(
        "We couldn't reach the directory that keeps your password. Try again in a few minutes."
    ),
}

GENERIC = _("Something went wrong. Try again.")

REASON_MESSAGES: dict[Reason, Promise] = {
    Reason.ORG_DISABLED: _("Your organisation hasn't turned on self-service password reset yet."),
    Reason.NOT_IN_GROUP: _("Self-service password reset isn't turned on for your account."),
    Reason.ADMIN_SSPR_DISABLED: _("Self-service password reset is turned off for administrators."),
    Reason.NOT_LICENSED: _("Your account has no licence for self-service password reset."),
    Reason.ACCOUNT_DISABLED: _("Your account is disabled."),
    Reason.PERSONAL_ACCOUNT: _(
        "Guests who sign in with a personal account reset their password where it lives."
    ),
    Reason.ADMIN_TWO_GATE: _(
        "As an administrator you need two different methods, not counting security "
        "questions, to reset your password yourself."
    ),
    Reason.WRITEBACK_OFF: _(
        "Your password lives in your organisation's own directory, and self-service reset "
        "isn't set up to change it there."
    ),
    Reason.WRITEBACK_UNREACHABLE: _(
        "Self-service reset can't reach the directory that keeps your password right now."
    ),
}


def message_for(code: str) -> str:
    return str(FIELD_MESSAGES.get(code) or PAGE_MESSAGES.get(code) or GENERIC)


def reason_message(reason: Reason, required: int) -> str:
    if reason == Reason.NOT_ENOUGH_METHODS:
        return ngettext(
            "Register at least %(n)d method to reset your password yourself.",
            "Register at least %(n)d different methods to reset your password yourself; "
            "security questions count only as a second one.",
            required,
        ) % {"n": required}
    return str(REASON_MESSAGES.get(reason, GENERIC))
