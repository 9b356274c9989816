"""Partly hidden addresses and numbers, for pages and audit rows.

Enough to let a person recognise their own address ("j•••@mail.example",
"+31 6 •••• 5678") without telling a stranger what it is. The email domain and
the last four digits stay, as most identity providers show them.
"""

import phonenumbers

_DOTS = "•••"
_PHONE_DOTS = "••••"


def mask_email(address: str) -> str:
    local, at, domain = address.strip().rpartition("@")
    if not at or not local:
        return _DOTS
    return f"{local[0]}{_DOTS}@{domain}"


def mask_phone(number: str) -> str:
    digits = "".join(c for c in number if c.isdigit())
    if len(digits) < 4:
        return _PHONE_DOTS
    try:
        parsed = phonenumbers.parse(number.strip(), None)
    except phonenumbers.NumberParseException:
        return f"{_PHONE_DOTS} {digits[-4:]}"
    national = str(parsed.national_number)
    last = national[-4:]
    if len(national) >= 8:  # long enough that the leading digit gives away little
        return f"+{parsed.country_code} {national[0]} {_PHONE_DOTS} {last}"
    return f"+{parsed.country_code} {_PHONE_DOTS} {last}"


def mask_recipient(kind: str, recipient: str) -> str:
    return mask_email(recipient) if kind == "email" else mask_phone(recipient)
