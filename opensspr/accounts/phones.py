"""Phone numbers in E.164, parsed with ``phonenumbers``.

Extensions are dropped (password reset never dials them, reference §4.2).
A number typed without its country code (``06 12345678``, as dialled at home) is
read in the region the caller names, else in the organisation's default region
(``OPENSSPR_DEFAULT_PHONE_REGION``); with neither, a leading ``+`` is required.
The reset reads a typed number in the region of the number it is compared
with, registration in the default region or that of a number the person
already has (``home_region``), so both accept the same typing.
"""

import functools
import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from phonenumbers.phonemetadata import PhoneMetadata


def default_region() -> str | None:
    """The organisation's default region ("NL"), or None when it has none."""
    return str(getattr(settings, "OPENSSPR_DEFAULT_PHONE_REGION", "") or "").upper() or None


def home_region(*known: str) -> str | None:
    """Where a number typed without a country code is read: the default, else a known number's."""
    return default_region() or next(filter(None, (region_of(n) for n in known if n)), None)


def normalise_phone(raw: str, *, region: str | None = None) -> str:
    """Return the E.164 form of ``raw`` ('' stays ''), or raise ``ValidationError``.

    ``region`` reads a number typed without its country code (``0612345678``)
    as a number of that region, before the configured default.
    """
    text = raw.strip()
    if not text:
        return ""
    if shortcut := _already_e164(text):
        return shortcut
    region = region or default_region()
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


#: What a person or a directory writes between the digits of a number.
_SPACING = str.maketrans("", "", " -.()\u00a0")
_PLUS_DIGITS = re.compile(r"\+[1-9][0-9]{5,15}")


def _already_e164(text: str) -> str | None:
    """``text`` itself when it is a valid number written in E.164 (spacing aside), else None.

    ``phonenumbers.parse`` costs about 35 µs, twice the validity check, and a
    directory's numbers are mostly written this way already: a first sync of
    100,000 people spent seconds there. Country codes are prefix-free, so the
    first one of 1-3 digits that exists is the number's; the number is taken
    only if it doesn't start with what the parse would strip as a national
    prefix, is valid and formats back to exactly these digits (a leading zero
    would not), else the full parse decides.
    """
    digits = text.translate(_SPACING)
    if not _PLUS_DIGITS.fullmatch(digits):
        return None
    for size in (1, 2, 3):
        code = int(digits[1 : 1 + size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[1 + size :]
    if (prefix := _national_prefix(code)) is not None and prefix.match(national):
        return None  # the parse may strip it (Belarus: "+375 810 ..." is "+375 10 ...")
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    if not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164 if e164 == digits else None


@functools.cache
def _national_prefix(code: int) -> re.Pattern[str] | None:
    """What ``parse`` strips from the start of a number of this country code, even after it."""
    region = phonenumbers.region_code_for_country_code(code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    found = metadata and (metadata.national_prefix_for_parsing or metadata.national_prefix)
    return re.compile(found) if found else None


def region_of(e164: str) -> str | None:
    """The region ("NL") of a stored E.164 number, or None."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or None
    except phonenumbers.NumberParseException:
        return None
