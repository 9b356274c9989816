"""User IDs: the UPN-style name people type to sign in or reset.

Stored IDs follow the reference's UPN rules (§6.4): ASCII letters, digits and
``' . - _ ! # ^ ~``, one ``@``, at most 113 characters (64 before the ``@``, 48
after), no ``.`` right before the ``@``. Lookups compare a *key*: NFKC then
casefold. Because stored IDs are ASCII, the only Unicode input that can match is
one that folds to exactly those ASCII characters (full-width letters do);
look-alikes such as the dotless i (U+0131) or a zero-width space never match anyone
(attack A14). Two stored users can never share a key: the key column is unique.
"""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_LOCAL = re.compile(r"^[A-Za-z0-9'._!#^~-]+$")
_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MAX_LENGTH = 113
MAX_LOCAL = 64
MAX_DOMAIN = 48
MAX_INPUT = 256  # longer input is not a user ID; refuse before normalising


def identifier_key(raw: str) -> str:
    """The comparison key of anything a person typed as a user ID."""
    return unicodedata.normalize("NFKC", raw[:MAX_INPUT].strip()).casefold()


def validate_user_id(value: str) -> None:
    """Raise ``ValidationError`` unless ``value`` is a well-formed UPN-style ID."""
    if len(value) > MAX_LENGTH:
        raise ValidationError(_("A user ID has at most 113 characters."), code="too_long")
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        raise ValidationError(
            _("A user ID looks like name@domain, for example jan.jansen@example.org."),
            code="format",
        )
    if len(local) > MAX_LOCAL or len(domain) > MAX_DOMAIN:
        raise ValidationError(
            _("A user ID has at most 64 characters before the @ and 48 after it."), code="too_long"
        )
    if not _LOCAL.match(local) or local.endswith(".") or not _DOMAIN.match(domain):
        raise ValidationError(
            _(
                "A user ID may only use letters A-Z, digits and ' . - _ ! # ^ ~ before the @, "
                "and may not have a dot right before the @."
            ),
            code="characters",
        )
