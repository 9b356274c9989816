"""The ppolicy response control (draft-behera-ldap-password-policy) and its codes.

ldap3 hands this control back undecoded; the decoder below reads just the
BER the server sends (a SEQUENCE with an optional warning [0] and an optional
error [1] ENUMERATED) and treats anything malformed as "no information", never
as a crash (F19). Too short, history and quality share one diagnostic text in
slapd, so the control is the only way to tell them apart.
"""

from dataclasses import dataclass
from enum import IntEnum

from opensspr.directory.errors import DirectoryCode

PPOLICY_OID = "1.3.6.1.4.1.42.2.27.8.5.1"
REQUEST_CONTROL = (PPOLICY_OID, False, None)


class PpolicyError(IntEnum):
    PASSWORD_EXPIRED = 0
    ACCOUNT_LOCKED = 1
    CHANGE_AFTER_RESET = 2
    PASSWORD_MOD_NOT_ALLOWED = 3
    MUST_SUPPLY_OLD_PASSWORD = 4
    INSUFFICIENT_PASSWORD_QUALITY = 5
    PASSWORD_TOO_SHORT = 6
    PASSWORD_TOO_YOUNG = 7
    PASSWORD_IN_HISTORY = 8
    PASSWORD_TOO_LONG = 9


CODES: dict[PpolicyError, DirectoryCode] = {
    PpolicyError.PASSWORD_EXPIRED: DirectoryCode.PASSWORD_EXPIRED,
    PpolicyError.ACCOUNT_LOCKED: DirectoryCode.ACCOUNT_LOCKED,
    PpolicyError.CHANGE_AFTER_RESET: DirectoryCode.MUST_CHANGE_PASSWORD,
    PpolicyError.PASSWORD_MOD_NOT_ALLOWED: DirectoryCode.CHANGE_NOT_ALLOWED,
    PpolicyError.MUST_SUPPLY_OLD_PASSWORD: DirectoryCode.MUST_SUPPLY_OLD_PASSWORD,
    PpolicyError.INSUFFICIENT_PASSWORD_QUALITY: DirectoryCode.PASSWORD_QUALITY,
    PpolicyError.PASSWORD_TOO_SHORT: DirectoryCode.PASSWORD_TOO_SHORT,
    PpolicyError.PASSWORD_TOO_YOUNG: DirectoryCode.PASSWORD_TOO_YOUNG,
    PpolicyError.PASSWORD_IN_HISTORY: DirectoryCode.PASSWORD_IN_HISTORY,
    PpolicyError.PASSWORD_TOO_LONG: DirectoryCode.PASSWORD_TOO_LONG,
}


@dataclass(frozen=True)
class PpolicyResponse:
    error: PpolicyError | None = None
    seconds_before_expiration: int | None = None
    grace_logins_remaining: int | None = None


def _tlv(data: bytes, i: int) -> tuple[int, bytes, int]:
    tag = data[i]
    length = data[i + 1]
    i += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4:
            raise ValueError("unsupported BER length")
        length = int.from_bytes(data[i : i + n], "big")
        i += n
    if i + length > len(data):
        raise ValueError("truncated BER value")
    return tag, data[i : i + length], i + length


def decode(value: bytes | None) -> PpolicyResponse:
    """Decode the control's value; malformed input decodes to an empty response."""
    if not value:
        return PpolicyResponse()
    try:
        return _decode(value)
    except (IndexError, ValueError):
        return PpolicyResponse()


def _decode(value: bytes) -> PpolicyResponse:
    tag, body, _ = _tlv(value, 0)
    if tag != 0x30:
        return PpolicyResponse()
    error = expiration = grace = None
    i = 0
    while i < len(body):
        tag, inner, i = _tlv(body, i)
        if tag == 0xA0:
            wtag, wval, _ = _tlv(inner, 0)
            if wtag == 0x80:
                expiration = int.from_bytes(wval, "big")
            elif wtag == 0x81:
                grace = int.from_bytes(wval, "big")
        elif tag == 0x81:
            number = int.from_bytes(inner, "big")
            error = PpolicyError(number) if number in PpolicyError._value2member_map_ else None
    return PpolicyResponse(error, expiration, grace)


def from_result(result: dict | None) -> PpolicyResponse:
    """The ppolicy control from an ldap3 ``connection.result``, if the server sent one."""
    controls = (result or {}).get("controls") or {}
    control = controls.get(PPOLICY_OID)
    if not isinstance(control, dict):
        return PpolicyResponse()
    value = control.get("value")
    return decode(value if isinstance(value, bytes) else None)
