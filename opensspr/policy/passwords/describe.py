"""The requirement lines shown beside a password form, one per rule a person can act on.

They are rendered in the active language when called (a form asks at request
time), so the caller gets plain strings it can join or list.
"""

from django.utils.translation import gettext

from opensspr.policy.passwords import cloud, nist
from opensspr.policy.passwords.context import PasswordContext
from opensspr.policy.passwords.messages import ALLOWED_SYMBOLS_TEXT
from opensspr.policy.passwords.rules import PasswordProfile


def describe_policy(profile: PasswordProfile, context: PasswordContext) -> list[str]:
    """Requirements for ``profile``; the "differs from current" line only on a change.

    A change is signalled the way the check sees it: ``context.current_password``
    is not None (any value, even empty, will do for the help text).
    """
    if PasswordProfile(profile) is PasswordProfile.CLOUD:
        lines = _cloud_lines()
    else:
        lines = _nist_lines(context.effective_nist_min_length)
    if context.current_password is not None:
        lines.append(gettext("Different from your current password."))
    return lines


def _length_line(minimum: int, maximum: int) -> str:
    return gettext("Between %(minimum)d and %(maximum)d characters long.") % {
        "minimum": minimum,
        "maximum": maximum,
    }


def _cloud_lines() -> list[str]:
    return [
        _length_line(cloud.MIN_LENGTH, cloud.MAX_LENGTH),
        gettext("At least three of: lower-case letters, capital letters, digits and symbols."),
        gettext(
            "Only the letters A to Z (no accents), digits, spaces and these symbols: %(symbols)s"
        )
        % {"symbols": ALLOWED_SYMBOLS_TEXT},
        gettext(
            "Not built from common passwords or words your organisation has blocked, "
            "including its name and your own name."
        ),
    ]


def _nist_lines(minimum: int) -> list[str]:
    return [
        _length_line(minimum, nist.MAX_LENGTH),
        gettext("Any characters you like, including spaces and letters of any alphabet."),
        gettext("Not a commonly used password or a password your organisation has blocked."),
        gettext(
            "Without your name, your user name, or the name of your organisation or of "
            "this service."
        ),
    ]
