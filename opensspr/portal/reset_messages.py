"""What the reset pages say for each engine outcome: one table per kind of outcome.

Every code the flow engine raises has an entry, so a person always reads a
sentence that tells them what to do next, never a code. The wording is the same
for every user ID (attack A1): nothing here depends on who typed what.
"""

import math
import re

from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from opensspr.directory.errors import REJECTION_CODES
from opensspr.directory.messages import message_for as directory_message

#: Codes after which the flow is gone: the "your session ended" page.
ENDED = frozenset({"flow_not_found", "flow_expired"})

ENDED_MESSAGES: dict[str, Promise] = {
    "flow_not_found": _(
        "For your security, this reset can't go on: it was finished, replaced by a newer "
        "one, or opened in another window. Start again to get back into your account."
    ),
    "flow_expired": _(
        "For your security, a reset must be finished within 15 minutes, and this one took "
        "longer. Start again to get back into your account."
    ),
    "already_done": _(
        "This reset was already finished in another window, so nothing more was changed. "
        "Sign in with the password you chose there."
    ),
}

#: Codes shown beside the field they concern.
FIELD_MESSAGES: dict[str, Promise] = {
    "contact_mismatch": _(
        "That doesn't match what's registered for this account. Check what you typed here, "
        "and check the user ID at the top of the page: if it has a typo, start over."
    ),
    "invalid_code": _("That code isn't right. Check it and try again."),
    "invalid_answers": _(
        "At least one answer isn't right. Check your answers and try again. "
        "You'll be asked the same questions until you answer them correctly."
    ),
    "code_dead": _(
        "That code was tried too many times and no longer works. "
        "Select Try another way to get a new one."
    ),
}

#: Added for a phone number that didn't match: the format we expect.
PHONE_FORMAT_HINT = _(
    "Type the whole number with its country code, starting with +, for example +31 612345678."
)

#: Codes shown at the top of the page the person is on now.
PAGE_MESSAGES: dict[str, Promise] = {
    "call_not_answered": _(
        "We haven't had your answer yet. Answer the call and press #, then select Continue."
    ),
    # Only raised when no code is open any more, so the page is the list of methods.
    "code_expired": _("That code has expired. Choose how to get a new one."),
    "method_unavailable": _("That way to verify isn't available. Choose another one."),
    "operation_unavailable": _("That choice isn't available. Choose another one."),
    "paused": _(
        "There have been several wrong codes or answers in a row for this account, so this "
        "way to verify is paused for a short while."
    ),
    "method_paused": _(
        "There have been too many wrong codes or answers this way for this account, so it is "
        "blocked for up to 24 hours. Choose another way to verify."
    ),
    "wrong_step": _("That step is already behind you. This is where you are now."),
    "flow_conflict": _("This page was submitted twice. This is where you are now."),
    "replaced_flow": _(
        "That page belonged to an earlier reset, which was replaced when you started another "
        "one in this browser, so nothing was submitted from it. This is the newer reset."
    ),
    "directory_unavailable": _(
        "We couldn't reach the directory that keeps your password, so nothing was changed. "
        "Try again in a few minutes."
    ),
    "throttled": _(
        "There have been too many wrong codes or answers for this account, so this reset has "
        "ended and that way to verify is blocked for up to 24 hours. Start again and choose "
        "another way."
    ),
    "send_limit": _(
        "We can't send another code this way for this account right now. Choose another way "
        "to verify, or try again in an hour."
    ),
    # About the service's money budget, never the account: the same for every user ID.
    "phone_budget": _(
        "We can't send texts or place calls right now: too many have gone out in the last "
        "hour. Choose another way to verify, such as email, or try again later."
    ),
    "try_later": _(
        "There have been too many attempts from your network. Wait a while, then try again."
    ),
    # About the inbox or phone, never the account: the same for every user ID (A1, A5).
    "send_held": _(
        "We've just sent a code or placed a call to this address or number. To keep "
        "inboxes and phones from being flooded, we send at most one a minute and 3 in 15 "
        "minutes to each. Wait a few minutes, then try again, or choose another way."
    ),
}

GENERIC_MESSAGE = _("Something went wrong. Try again.")

DIRECTORY_REJECTED = _(
    "Your organisation's directory didn't accept this password. Choose a different one."
)


def tries_left(count: int) -> str:
    """The warning after a wrong code or answer: how many more before the day's block."""
    if count <= 0:
        return gettext(
            "That was the last try: this way to verify is now blocked for this account for "
            "up to 24 hours."
        )
    return ngettext(
        "You can get it wrong %(count)d more time before this way to verify is blocked for "
        "this account for up to 24 hours.",
        "You can get it wrong %(count)d more times before this way to verify is blocked for "
        "this account for up to 24 hours.",
        count,
    ) % {"count": count}


def wait(seconds: int) -> str:
    """How long a short pause after wrong answers in a row still lasts: seconds under a
    minute, else whole minutes (rounded up, so the person never tries too early)."""
    if seconds < 60:
        return ngettext(
            "To protect the account, wait %(count)d second before the next try.",
            "To protect the account, wait %(count)d seconds before the next try.",
            seconds,
        ) % {"count": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext(
        "To protect the account, wait %(count)d minute before the next try.",
        "To protect the account, wait %(count)d minutes before the next try.",
        minutes,
    ) % {"count": minutes}


def rejection_message(code: str) -> Promise:
    """Why the directory refused a new password: its own reason when it gave a known one."""
    reason = code.removeprefix("directory:")
    return directory_message(reason) if reason in REJECTION_CODES else DIRECTORY_REJECTED


def message_for(code: str) -> Promise:
    if code.startswith("directory:"):  # the directory's own reason, by its stable code
        return directory_message(code.removeprefix("directory:"))
    return FIELD_MESSAGES.get(code) or PAGE_MESSAGES.get(code) or GENERIC_MESSAGE


# --- the blocked page -------------------------------------------------------------------

BLOCKED_MESSAGES: dict[str, Promise] = {
    "throttled": _(
        "There have been too many wrong codes or answers for this account, so this reset has "
        "ended, and that way to verify is blocked for up to 24 hours. This protects the "
        "account. Start again and choose another way, or contact your administrator."
    ),
    "too_many_contact_checks": _(
        "Several addresses or numbers you typed didn't match what's registered for this "
        "account, so this reset has ended. Start again, and check the user ID you type."
    ),
    "too_many_passwords": _(
        "None of the new passwords met the requirements, and there were too many tries. "
        "Start again, or contact your administrator."
    ),
    "OSSPR_0009": _(
        "You can't reset your password here because your administrator hasn't turned on "
        "self-service password reset for your organisation. Contact your administrator "
        "and ask them to reset your password."
    ),
}

BLOCKED_GENERIC = _(
    "You can't reset your password here right now. Contact your administrator and ask them "
    "to help you."
)

_PUBLIC_CODE = re.compile(r"OSSPR_\d{4}")


def blocked_message(reason: str) -> Promise:
    return BLOCKED_MESSAGES.get(reason, BLOCKED_GENERIC)


def public_code(reason: str) -> str:
    """The reason as a code the person may quote to their helpdesk, or ""."""
    return reason if _PUBLIC_CODE.fullmatch(reason) else ""
