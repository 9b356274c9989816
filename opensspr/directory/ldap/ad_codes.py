"""Active Directory's extended error codes, read from an LDAP diagnostic message.

AD puts a Win32 error in the first eight hex digits of ``message``
(``0000052D: Constraint violation - ...``) and, for binds, a sub-status after
``data`` (``AcceptSecurityContext error, data 775, v1db1``). Windows returns
only the code for a policy refusal; Samba adds the rule in words, which lets
us be precise there and fall back to "the policy refused it" elsewhere.
"""

import re

from opensspr.directory.errors import DirectoryCode

_WIN32 = re.compile(r"^\s*([0-9A-Fa-f]{8}):")
_BIND_DATA = re.compile(r"\bdata ([0-9A-Fa-f]{3,8})\b")

# Win32 errors (winerror.h) and bind sub-statuses, lower-case hex without leading zeros.
CODES: dict[str, DirectoryCode] = {
    "52d": DirectoryCode.PASSWORD_POLICY,  # ERROR_PASSWORD_RESTRICTION
    "56": DirectoryCode.WRONG_PASSWORD,  # ERROR_INVALID_PASSWORD (old password in a change)
    "52e": DirectoryCode.WRONG_PASSWORD,  # ERROR_LOGON_FAILURE
    "525": DirectoryCode.WRONG_PASSWORD,  # no such user: never say so (A1)
    "775": DirectoryCode.ACCOUNT_LOCKED,  # ERROR_ACCOUNT_LOCKED_OUT
    "533": DirectoryCode.ACCOUNT_DISABLED,  # ERROR_ACCOUNT_DISABLED
    "701": DirectoryCode.ACCOUNT_DISABLED,  # ERROR_ACCOUNT_EXPIRED
    "530": DirectoryCode.ACCOUNT_DISABLED,  # ERROR_INVALID_LOGON_HOURS
    "531": DirectoryCode.ACCOUNT_DISABLED,  # ERROR_INVALID_WORKSTATION
    "532": DirectoryCode.PASSWORD_EXPIRED,  # ERROR_PASSWORD_EXPIRED
    "773": DirectoryCode.MUST_CHANGE_PASSWORD,  # ERROR_PASSWORD_MUST_CHANGE
    "5": DirectoryCode.PERMISSION_DENIED,  # ERROR_ACCESS_DENIED
}

# Samba's words for the rule behind 0000052D (check_password_restrictions).
_POLICY_WORDS: tuple[tuple[str, DirectoryCode], ...] = (
    ("too short", DirectoryCode.PASSWORD_TOO_SHORT),
    ("too long", DirectoryCode.PASSWORD_TOO_LONG),
    ("complexity", DirectoryCode.PASSWORD_QUALITY),
    ("history", DirectoryCode.PASSWORD_IN_HISTORY),
    ("too young", DirectoryCode.PASSWORD_TOO_YOUNG),
    ("minimum password age", DirectoryCode.PASSWORD_TOO_YOUNG),
)


def _normal(hex_code: str) -> str:
    return hex_code.lower().lstrip("0") or "0"


def win32_code(message: str) -> str | None:
    """The Win32 error (or bind sub-status) in ``message``, normalised, if any."""
    match = _BIND_DATA.search(message) or _WIN32.search(message)
    return _normal(match.group(1)) if match else None


def code_for(message: str) -> DirectoryCode | None:
    """The stable code for an AD diagnostic message; None if it carries no known code."""
    found = win32_code(message)
    if found is None:
        return None
    code = CODES.get(found)
    if code is DirectoryCode.PASSWORD_POLICY:
        lowered = message.lower()
        for words, precise in _POLICY_WORDS:
            if words in lowered:
                return precise
    return code
