"""Phone numbers in E.164, parsed with ``phonenumbers``.

Extensions are dropped (password reset never dials them, reference §4.2).
Numbers without a country code are read in ``OPENSSPR_DEFAULT_PHONE_REGION``
when set; otherwise a leading ``+`` is required.
"""

import os

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def normalise_phone(raw: str, *, region: str | None = None) -> str:
    """Return the E.164 form of ``raw`` ('' stays ''), or raise ``ValidationError``.

    ``region`` reads a number typed without its country code (``0612345678``)
    as a number of that region, before the configured default.
    """
    text = raw.strip()
    if not text:
        return ""
    region = region or os.environ.get("OPENSSPR_DEFAULT_PHONE_REGION") or None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("Enter a valid phone number with its country code, for example +31 6 12345678."),
            code="invalid_phone",
        )
    number.extension = None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def region_of(e164: str) -> str | None:
    """The region ("NL") of a stored E.164 number, or None."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or None
    except phonenumbers.NumberParseException:
        return None
