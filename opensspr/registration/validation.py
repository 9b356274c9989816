"""The rules a new authentication email or phone number must keep, with the person's wording.

Numbers are stored in E.164 with any extension dropped (reference §4.2). Numbers
that cost the organisation money or that nobody holds in their hand (premium
rate, shared cost, toll free, VoIP, pagers, personal redirect numbers) are
refused: they are the usual targets of toll fraud (security bar A4) and the
reference doesn't accept virtual numbers either. A number can't serve as both
mobile and office phone, since one number is one method at reset (attack A17).
"""

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from opensspr.accounts.models import User
from opensspr.accounts.phones import home_region, normalise_phone
from opensspr.registration.notify import Item

_REFUSED_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.PREMIUM_RATE,
        phonenumbers.PhoneNumberType.SHARED_COST,
        phonenumbers.PhoneNumberType.TOLL_FREE,
        phonenumbers.PhoneNumberType.VOIP,
        phonenumbers.PhoneNumberType.PAGER,
        phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
        phonenumbers.PhoneNumberType.UAN,
        phonenumbers.PhoneNumberType.VOICEMAIL,
    }
)
EMAIL_MAX = 254


def clean_auth_email(user: User, raw: str) -> str:
    address = raw.strip()
    try:
        if len(address) > EMAIL_MAX:
            raise ValidationError("too long")
        validate_email(address)
    except ValidationError:
        raise ValidationError(
            _("Enter an email address such as name@example.org."), code="invalid_email"
        ) from None
    folded = address.casefold()
    if user.auth_email and folded == user.auth_email.casefold():
        raise ValidationError(
            _("That address is already your authentication email."), code="unchanged"
        )
    if folded in {v.casefold() for v in (user.email, user.user_id) if v}:
        raise ValidationError(
            _(
                "Use an address other than your work address: you need this one when you "
                "can't sign in to your account."
            ),
            code="own_account",
        )
    return address


def clean_phone(user: User, item: Item, raw: str) -> str:
    """The E.164 form of ``raw`` for ``item`` (mobile or office), or ``ValidationError``."""
    number = normalise_phone(raw, region=home_region(user.mobile_phone, user.office_phone))
    if not number:
        raise ValidationError(_("Enter a phone number."), code="required")
    kind = phonenumbers.number_type(phonenumbers.parse(number))
    if kind in _REFUSED_TYPES:
        raise ValidationError(
            _(
                "This kind of number can't be used. Enter a mobile or landline number that "
                "reaches you directly."
            ),
            code="refused_type",
        )
    if item == Item.MOBILE_PHONE and kind == phonenumbers.PhoneNumberType.FIXED_LINE:
        raise ValidationError(
            _("That looks like a landline. Enter a mobile number, or add it as your office phone."),
            code="landline",
        )
    if number == getattr(user, item.value):
        raise ValidationError(_("That number is already registered here."), code="unchanged")
    other = Item.OFFICE_PHONE if item == Item.MOBILE_PHONE else Item.MOBILE_PHONE
    if number == getattr(user, other.value):
        raise ValidationError(
            _(
                "That number is already registered as your other phone. One number counts "
                "as one method only: enter a different one."
            ),
            code="same_as_other",
        )
    return number
