"""What both connectors share: the exact-one lookup, base reads and result codes.

Filters are built only from escaped values (RFC 4515) and DNs only come from
the directory's own answers, never from a client (A13). Every search carries a
size limit and a time limit (F19).
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from ldap3 import BASE, SUBTREE, Connection
from ldap3.utils.conv import escape_filter_chars

from opensspr.directory.errors import (
    REJECTION_CODES,
    DirectoryAccountError,
    DirectoryCode,
    DirectoryConfigurationError,
    DirectoryError,
    DirectoryLookupError,
    DirectoryRejectedError,
    DirectoryUnavailableError,
)
from opensspr.directory.ldap.config import LdapConfig
from opensspr.directory.ldap.connection import ServicePool, close, open_bound
from opensspr.directory.values import Attributes, DirectoryAccount

MAX_USER_ID_LENGTH = 1024

# LDAP result codes (RFC 4511) that mean "try later", not "you did something wrong".
_TRANSIENT = {3, 51, 52, 80}
SUCCESS, NO_SUCH_ATTRIBUTE, CONSTRAINT_VIOLATION, NO_SUCH_OBJECT = 0, 16, 19, 32
INVALID_CREDENTIALS, INSUFFICIENT_ACCESS, UNWILLING, UNAVAILABLE_CRITICAL = 49, 50, 53, 12


def user_filter(config: LdapConfig, user_id: str) -> str:
    """The lookup filter for ``user_id``, every special character escaped."""
    value = escape_filter_chars(user_id)
    return f"(&{config.user_object_filter}({config.user_id_attribute}={value}))"


class LdapDirectoryBase:
    """Lookup and reads over a pooled service-account connection."""

    def __init__(self, config: LdapConfig) -> None:
        self.config = config
        self.pool = ServicePool(config)

    def close(self) -> None:
        self.pool.close_all()

    def find_user(self, user_id: str) -> DirectoryAccount:
        """The one entry whose user-ID attribute equals ``user_id``.

        No match raises ``user_not_found``; two or more raise ``multiple_matches``
        (sspr-behaviour §7.7): we never pick one of several people.
        """
        if not user_id or len(user_id) > MAX_USER_ID_LENGTH:
            raise DirectoryLookupError(code=DirectoryCode.USER_NOT_FOUND)
        attribute = self.config.user_id_attribute
        with self.pool.connection() as connection:
            connection.search(
                self.config.user_base,
                user_filter(self.config, user_id),
                SUBTREE,
                attributes=[attribute],
                size_limit=2,
                time_limit=self.config.search_time_limit,
            )
            entries = _entries(connection)
            if connection.result["result"] not in (SUCCESS, 4):  # 4 = sizeLimitExceeded
                raise error_for(connection.result)
        if len(entries) > 1:
            raise DirectoryLookupError(code=DirectoryCode.MULTIPLE_MATCHES)
        if not entries:
            raise DirectoryLookupError(code=DirectoryCode.USER_NOT_FOUND)
        return DirectoryAccount(dn=entries[0][0], user_id=user_id)

    def read(self, connection: Connection, dn: str, attributes: Iterable[str]) -> Attributes:
        """One entry's raw attribute values (base-scope read; size limit 1)."""
        connection.search(
            dn,
            "(objectClass=*)",
            BASE,
            attributes=list(attributes),
            size_limit=1,
            time_limit=self.config.search_time_limit,
        )
        entries = _entries(connection)
        if not entries:
            if connection.result["result"] in (SUCCESS, NO_SUCH_OBJECT):
                raise DirectoryLookupError(code=DirectoryCode.USER_NOT_FOUND)
            raise error_for(connection.result)
        return entries[0][1]

    def bind_as(
        self, dn: str, password: str, controls: list | None = None
    ) -> tuple[Connection, bool]:
        """A fresh connection bound as the person (never pooled)."""
        if not password:
            # An empty password is an unauthenticated bind that "succeeds" (RFC 4513 §5.1.2).
            raise DirectoryAccountError("empty password", code=DirectoryCode.WRONG_PASSWORD)
        return open_bound(self.config, dn, password, controls)


def release(connection: Connection) -> None:
    close(connection)


def _entries(connection: Connection) -> list[tuple[str, Attributes]]:
    found = []
    for item in connection.response or []:
        if item.get("type") == "searchResEntry":
            raw = {
                key.lower(): list(values) for key, values in item.get("raw_attributes", {}).items()
            }
            found.append((item["dn"], raw))
    return found


def first_text(attributes: Mapping[str, list[bytes]], name: str) -> str | None:
    values = attributes.get(name.lower()) or []
    return values[0].decode("utf-8", "replace") if values else None


def first_int(attributes: Mapping[str, list[bytes]], name: str) -> int | None:
    text = first_text(attributes, name)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def generalized_time(text: str | None) -> datetime | None:
    """An LDAP GeneralizedTime (``20261204153000Z``, fractions allowed) in UTC."""
    if not text or not text.endswith("Z"):
        return None
    digits = text[:-1].split(".")[0]
    try:
        return datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


_GENERIC = {
    UNAVAILABLE_CRITICAL: DirectoryCode.POLICY_CONTROL_UNSUPPORTED,
    INSUFFICIENT_ACCESS: DirectoryCode.PERMISSION_DENIED,
    NO_SUCH_OBJECT: DirectoryCode.USER_NOT_FOUND,
    CONSTRAINT_VIOLATION: DirectoryCode.PASSWORD_POLICY,
}


def error_for(result: Mapping[str, Any], code: DirectoryCode | None = None) -> DirectoryError:
    """The typed error for a failed LDAP result; ``code`` overrides the generic one.

    The reason is for operators: the result number and name, and the server's
    diagnostic (AD's ``0000052D: ...`` text; never a password, servers don't echo
    values), cut short so a hostile server can't flood the logs.
    """
    number = int(result.get("result") or 0)
    diagnostic = str(result.get("message") or "")[:200]
    reason = f"{number} {result.get('description', '')} {diagnostic}".strip()
    if code is None and number in _TRANSIENT:
        return DirectoryUnavailableError(reason)
    return _typed(code or _GENERIC.get(number, DirectoryCode.UNEXPECTED), reason)


_ACCOUNT = {
    DirectoryCode.WRONG_PASSWORD,
    DirectoryCode.ACCOUNT_LOCKED,
    DirectoryCode.ACCOUNT_DISABLED,
    DirectoryCode.PASSWORD_EXPIRED,
    DirectoryCode.MUST_CHANGE_PASSWORD,
}


def _typed(code: DirectoryCode, reason: str) -> DirectoryError:
    if code in REJECTION_CODES:
        return DirectoryRejectedError(code, reason)
    if code in _ACCOUNT:
        return DirectoryAccountError(reason, code=code)
    if code in (DirectoryCode.PERMISSION_DENIED, DirectoryCode.POLICY_CONTROL_UNSUPPORTED):
        return DirectoryConfigurationError(reason, code=code)
    if code in (DirectoryCode.USER_NOT_FOUND, DirectoryCode.MULTIPLE_MATCHES):
        return DirectoryLookupError(reason, code=code)
    return DirectoryError(reason, code=code)


def search(
    connection: Connection,
    base: str,
    query: str = "(objectClass=*)",
    attributes: list[str] | None = None,
    *,
    subtree: bool = False,
    limit: int = 1,
    controls: list | None = None,
) -> tuple[int, list[tuple[str, Attributes]]]:
    """The LDAP result code and the entries (raw values, lower-case names) of one search.

    Every search carries a size and a time limit, like the connectors' own.
    """
    connection.search(
        base,
        query,
        SUBTREE if subtree else BASE,
        attributes=attributes or ["1.1"],
        size_limit=limit,
        time_limit=10,
        controls=controls,
    )
    entries = []
    for item in connection.response or []:
        if item.get("type") == "searchResEntry":
            raw = {k.lower(): list(v) for k, v in item.get("raw_attributes", {}).items()}
            entries.append((item["dn"], raw))
    return int(connection.result.get("result") or 0), entries
