"""What a person reads for each directory code, in their language.

Lives outside ``opensspr.directory.ldap`` because it needs Django's
translation machinery; the connectors (and the agent) only carry codes. Every
``DirectoryCode`` has a sentence here, and none reveals whether an account
exists (attack A1): not-found and multi-match read like a configuration
problem, which is what they are once a person got this far.
"""

from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from opensspr.directory.errors import DirectoryCode
from opensspr.directory.values import DirectoryPasswordPolicy

_CONFIGURATION = _(
    "We can't reset your password right now because of a problem with your organisation's "
    "password reset set-up. There's nothing more you can do here: contact your administrator "
    "and ask them to look into it."
)
_UNREACHABLE = _(
    "We can't reach your organisation's directory right now, so nothing was changed. Try "
    "again in a few minutes. If it keeps happening, contact your administrator."
)

MESSAGES: dict[DirectoryCode, Promise] = {
    DirectoryCode.PASSWORD_TOO_SHORT: _(
        "Your organisation's directory didn't accept this password because it's too short. "
        "Choose a longer one."
    ),
    DirectoryCode.PASSWORD_TOO_LONG: _(
        "Your organisation's directory didn't accept this password because it's too long. "
        "Choose a shorter one."
    ),
    DirectoryCode.PASSWORD_IN_HISTORY: _(
        "Your organisation's directory didn't accept this password because you've used it "
        "before. Choose one you haven't used recently."
    ),
    DirectoryCode.PASSWORD_TOO_YOUNG: _(
        "Your password was changed too recently to change it again. Try again later, or "
        "contact your administrator."
    ),
    DirectoryCode.PASSWORD_QUALITY: _(
        "Your organisation's directory didn't accept this password because it isn't complex "
        "enough. Mix upper- and lower-case letters, numbers and symbols, and leave out your "
        "name."
    ),
    DirectoryCode.PASSWORD_POLICY: _(
        "Your organisation's directory didn't accept this password: it doesn't meet your "
        "organisation's password rules. Choose a different one."
    ),
    DirectoryCode.MUST_SUPPLY_OLD_PASSWORD: _(
        "Your organisation's directory needs your current password to change it. Enter it "
        "and try again."
    ),
    DirectoryCode.CHANGE_NOT_ALLOWED: _(
        "Your organisation doesn't let you change this password yourself. Contact your "
        "administrator."
    ),
    DirectoryCode.WRONG_PASSWORD: _("Your current password isn't right. Check it and try again."),
    DirectoryCode.ACCOUNT_LOCKED: _(
        "Your account is locked. Reset your password or unlock your account to get back in."
    ),
    DirectoryCode.ACCOUNT_DISABLED: _("Your account is disabled. Contact your administrator."),
    DirectoryCode.PASSWORD_EXPIRED: _("Your password has expired. Choose a new one."),
    DirectoryCode.MUST_CHANGE_PASSWORD: _("You must change your password before you sign in."),
    DirectoryCode.USER_NOT_FOUND: _CONFIGURATION,
    DirectoryCode.MULTIPLE_MATCHES: _CONFIGURATION,
    DirectoryCode.PROTECTED_ACCOUNT: _(
        "Your organisation protects this administrator account, so its password can't be "
        "reset or unlocked here. Ask another administrator, or change the password while you "
        "still know it."
    ),
    DirectoryCode.PERMISSION_DENIED: _CONFIGURATION,
    DirectoryCode.SERVICE_BIND_FAILED: _CONFIGURATION,
    DirectoryCode.POLICY_CONTROL_UNSUPPORTED: _CONFIGURATION,
    DirectoryCode.UNAVAILABLE: _UNREACHABLE,
    DirectoryCode.TLS_FAILURE: _UNREACHABLE,
    DirectoryCode.UNEXPECTED: _(
        "Something went wrong in your organisation's directory. Try again in a few minutes. "
        "If it keeps happening, contact your administrator."
    ),
}


def message_for(code: str) -> Promise:
    """The sentence for ``code``; an unknown code (a newer agent) reads as unexpected."""
    try:
        return MESSAGES[DirectoryCode(code)]
    except ValueError:
        return MESSAGES[DirectoryCode.UNEXPECTED]


def policy_lines(policy: DirectoryPasswordPolicy | None) -> list[str]:
    """The directory's own rules, in the person's words, shown before they choose.

    Only what the directory says it enforces; an unknown rule is left out, never
    guessed (an old domain policy, a ppolicy without a quality module).
    """
    if policy is None:
        return []
    lines = []
    if policy.min_length:
        lines.append(
            ngettext(
                "At least %(count)d character long.",
                "At least %(count)d characters long.",
                policy.min_length,
            )
            % {"count": policy.min_length}
        )
    if policy.complexity:
        lines.append(
            gettext(
                "Characters from at least three of: lower-case letters, capital letters, "
                "digits and symbols, and not containing your name or user ID."
            )
        )
    if policy.history:
        lines.append(
            ngettext(
                "Not your current or previous password.",
                "Not one of your last %(count)d passwords.",
                policy.history,
            )
            % {"count": policy.history}
        )
    if policy.min_age:
        hours = max(1, round(policy.min_age.total_seconds() / 3600))
        lines.append(
            ngettext(
                "Your password can be changed at most once every hour.",
                "Your password can be changed at most once every %(count)d hours.",
                hours,
            )
            % {"count": hours}
        )
    return lines
