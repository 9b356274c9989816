"""The user-facing text of every password rule, in our own words.

Messages say which rule failed and what to do instead; none of them ever
repeats the password or any part of it (not even the offending character).
Rule messages are lazy: a verdict made in one request renders in the language
active where it is shown. Sizes go through ``ngettext`` so that languages with
several plural forms translate them properly.
"""

from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from opensspr.policy.passwords.verdict import FailureCode, RuleFailure

ALLOWED_SYMBOLS_TEXT = "@ # $ % ^ & * - _ ! + = [ ] { } | \\ : ' , . ? / ` ~ \" ( ) ; < >"

FIXED_MESSAGES: dict[FailureCode, Promise] = {
    FailureCode.DISALLOWED_CHARACTER: _(
        "Your password contains a character that can't be used. Use only the letters "
        "A to Z, digits, spaces and the listed symbols: accented letters, emoji and "
        "tabs aren't accepted."
    ),
    FailureCode.TOO_SIMPLE: _(
        "Your password needs at least three of these four: lower-case letters, capital "
        "letters, digits and symbols."
    ),
    FailureCode.SAME_AS_CURRENT: _("Your new password must differ from your current password."),
    FailureCode.COMMON_PASSWORD: _(
        "That password is one of the most widely used ones, so it is among the first an "
        "attacker tries. Choose something less predictable."
    ),
    FailureCode.BANNED_GLOBAL: _(
        "Your password is built from a common word or pattern that makes it easy to guess. "
        "Try a longer password, for example a few unrelated words."
    ),
    FailureCode.BANNED_CUSTOM: _(
        "Your password contains a word your organisation has blocked, such as its name "
        "or yours. Choose a password without it."
    ),
    FailureCode.CONTEXT_WORD: _(
        "Your password contains your name, your user name, or the name of your "
        "organisation or of this service. Leave those out."
    ),
}


def _too_short_text(minimum: int) -> str:
    return ngettext(
        "Your password is too short: use at least %(count)d character.",
        "Your password is too short: use at least %(count)d characters.",
        minimum,
    ) % {"count": minimum}


def _too_long_text(maximum: int) -> str:
    return ngettext(
        "Your password is too long: use at most %(count)d character.",
        "Your password is too long: use at most %(count)d characters.",
        maximum,
    ) % {"count": maximum}


too_short_message = lazy(_too_short_text, str)
too_long_message = lazy(_too_long_text, str)


def failure(code: FailureCode) -> RuleFailure:
    """A failure whose message does not depend on the policy's numbers."""
    return RuleFailure(code=code, message=FIXED_MESSAGES[code])


def too_short(minimum: int) -> RuleFailure:
    return RuleFailure(code=FailureCode.TOO_SHORT, message=too_short_message(minimum))


def too_long(maximum: int) -> RuleFailure:
    return RuleFailure(code=FailureCode.TOO_LONG, message=too_long_message(maximum))
