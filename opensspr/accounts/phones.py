"""Phone numbers in E.164, parsed with ``phonenumbers``.

Extensions are dropped (password reset never dials them, reference §4.2).
Numbers without a country code are read in ``OPENSSPR_DEFAULT_PHONE_REGION``
when set; otherwise a leading ``+`` is required.
"""

import os

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def normalise_phone(raw: str) -> str:
    """Return the E.164 form of ``raw`` ('' stays ''), or raise ``ValidationError``."""
    text = raw.strip()
    if not text:
        return ""
    region = os.environ.get("OPENSSPR_DEFAULT_PHONE_REGION") or None
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
