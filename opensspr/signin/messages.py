"""What a person is told about each sign-in or change outcome, in their language."""

from django import forms
from django.utils.translation import gettext_lazy as _

from opensspr.signin.change import ChangeOutcome, ChangeResult
from opensspr.signin.services import SignInOutcome

SIGN_IN_ERRORS = {
    SignInOutcome.INVALID: _(
        "Your user ID or password is incorrect. If you don't remember your password, choose "
        "“Can't access your account?” below."
    ),
    SignInOutcome.LOCKED: _(
        "Your account is temporarily locked to prevent unauthorised use. To unlock it now, "
        "choose “Can't access your account?” below and verify it's you; or try again later."
    ),
    SignInOutcome.DISABLED: _(
        "Your account has been disabled. Contact your administrator to have it enabled."
    ),
    SignInOutcome.THROTTLED: _(
        "There have been too many sign-in attempts from your network. Wait a few minutes "
        "and try again."
    ),
}

DIRECTORY_UNAVAILABLE = _(
    "We can't reach your organisation's directory right now. Nothing was changed; "
    "please try again in a few minutes."
)
SIGN_IN_ERRORS[SignInOutcome.UNAVAILABLE] = _(
    "We can't reach your organisation's directory right now, so we can't check your "
    "password. Try again in a few minutes."
)

#: Where no "Can't access your account?" is below the form (changing a password, a pass).
LOCKED_ELSEWHERE = _(
    "Your account is temporarily locked to prevent unauthorised use. Try again later. "
    "If you still have trouble, contact your administrator."
)

CHANGE_ERRORS = {
    ChangeOutcome.WRONG_CURRENT: _("Your current password is incorrect."),
    ChangeOutcome.LOCKED: LOCKED_ELSEWHERE,
    ChangeOutcome.UNAVAILABLE: DIRECTORY_UNAVAILABLE,
    ChangeOutcome.DIRECTORY_REJECTED: _(
        "Your organisation's directory did not accept this password (it may be too short, "
        "used before, or not complex enough). Choose a different password."
    ),
}


def change_errors(result: ChangeResult) -> list[tuple[str | None, str]]:
    """(field, message) pairs for a failed change; field None means the whole form."""
    if result.outcome == ChangeOutcome.POLICY_REJECTED:
        return [("new_password", str(f.message)) for f in result.failures]
    if result.outcome == ChangeOutcome.WRONG_CURRENT:
        return [("current_password", str(CHANGE_ERRORS[result.outcome]))]
    return [(None, str(CHANGE_ERRORS[result.outcome]))]


def apply_change_errors(form: forms.Form, result: ChangeResult) -> str | None:
    """Put a failed change's messages on the form's fields; return a form-wide one, if any."""
    general = None
    for field, message in change_errors(result):
        if field:
            form.add_error(field, message)
        else:
            general = message
    return general
