"""Every ppolicy error and every AD extended code maps to one stable code (pure tables)."""

import pytest

from opensspr.directory.errors import DirectoryCode
from opensspr.directory.ldap import ad_codes, ppolicy


def _control(error: int | None = None, warning: tuple[int, int] | None = None) -> bytes:
    body = b""
    if warning:
        tag, value = warning
        inner = bytes([tag, 1, value])
        body += bytes([0xA0, len(inner)]) + inner
    if error is not None:
        body += bytes([0x81, 1, error])
    return bytes([0x30, len(body)]) + body


@pytest.mark.parametrize(
    ("number", "code"),
    [
        (0, DirectoryCode.PASSWORD_EXPIRED),
        (1, DirectoryCode.ACCOUNT_LOCKED),
        (2, DirectoryCode.MUST_CHANGE_PASSWORD),
        (3, DirectoryCode.CHANGE_NOT_ALLOWED),
        (4, DirectoryCode.MUST_SUPPLY_OLD_PASSWORD),
        (5, DirectoryCode.PASSWORD_QUALITY),
        (6, DirectoryCode.PASSWORD_TOO_SHORT),
        (7, DirectoryCode.PASSWORD_TOO_YOUNG),
        (8, DirectoryCode.PASSWORD_IN_HISTORY),
        (9, DirectoryCode.PASSWORD_TOO_LONG),
    ],
)
def test_every_ppolicy_error_has_a_stable_code(number: int, code: DirectoryCode) -> None:
    response = ppolicy.decode(_control(number))
    assert response.error is not None
    assert ppolicy.CODES[response.error] is code


def test_ppolicy_warnings_are_read() -> None:
    assert ppolicy.decode(_control(warning=(0x80, 90))).seconds_before_expiration == 90
    assert ppolicy.decode(_control(warning=(0x81, 2))).grace_logins_remaining == 2


@pytest.mark.parametrize(
    "value",
    [b"", b"\x30", b"\x30\x05\x81\x01", b"\x04\x00", b"\x30\x03\x81\x01\x63", b"\x30\x84\xff\xff"],
)
def test_malformed_ppolicy_control_means_no_information_not_a_crash(value: bytes) -> None:
    assert ppolicy.decode(value).error is None


def test_result_without_the_control_has_no_error() -> None:
    assert ppolicy.from_result({"result": 19, "controls": {}}).error is None
    assert ppolicy.from_result(None).error is None


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (
            "0000052D: Constraint violation - check_password_restrictions: the password is too short.",
            DirectoryCode.PASSWORD_TOO_SHORT,
        ),
        (
            "0000052D: Constraint violation - check_password_restrictions: the password does not "
            "meet the complexity criteria!",
            DirectoryCode.PASSWORD_QUALITY,
        ),
        (
            "0000052D: Constraint violation - check_password_restrictions: the password was "
            "already used (in history)!",
            DirectoryCode.PASSWORD_IN_HISTORY,
        ),
        (
            "0000052D: Constraint violation - check_password_restrictions: password is too young "
            "to change!",
            DirectoryCode.PASSWORD_TOO_YOUNG,
        ),
        (
            "0000052D: SvcErr: DSID-031A1254, problem 5003 (WILL_NOT_PERFORM)",
            DirectoryCode.PASSWORD_POLICY,
        ),
        (
            "00000056: AtrErr: The old password specified doesn't match!",
            DirectoryCode.WRONG_PASSWORD,
        ),
        (
            "00000005: SecErr: DSID-031A48C5, problem 4003 (INSUFF_ACCESS_RIGHTS)",
            DirectoryCode.PERMISSION_DENIED,
        ),
        (
            "80090308: LdapErr: DSID-0C09041C, AcceptSecurityContext error, data 52e, v4563",
            DirectoryCode.WRONG_PASSWORD,
        ),
        (
            "80090308: LdapErr: AcceptSecurityContext error, data 775, v1db1",
            DirectoryCode.ACCOUNT_LOCKED,
        ),
        ("00000775: account locked out", DirectoryCode.ACCOUNT_LOCKED),
        ("80090308: AcceptSecurityContext error, data 533, v1db1", DirectoryCode.ACCOUNT_DISABLED),
        ("80090308: AcceptSecurityContext error, data 532, v1db1", DirectoryCode.PASSWORD_EXPIRED),
        (
            "80090308: AcceptSecurityContext error, data 773, v1db1",
            DirectoryCode.MUST_CHANGE_PASSWORD,
        ),
        ("80090308: AcceptSecurityContext error, data 701, v1db1", DirectoryCode.ACCOUNT_DISABLED),
        ("80090308: AcceptSecurityContext error, data 525, v1db1", DirectoryCode.WRONG_PASSWORD),
    ],
)
def test_ad_extended_codes_map_to_the_same_stable_codes(message: str, code: DirectoryCode) -> None:
    assert ad_codes.code_for(message) is code


def test_a_message_without_an_ad_code_maps_to_nothing() -> None:
    assert ad_codes.code_for("Password fails quality checking policy") is None
