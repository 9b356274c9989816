"""The writeback doctor: check a configured directory and name each problem's cause and fix.

``diagnose`` runs small checks in the order a writeback would meet them:
the scope's OU names, reaching the server (TCP, then TLS), the service
account's bind, then the directory kind's own checks (ppolicy or the AD
domain), the write rights on each scope, and an optional sample user. It
reads and never writes: the rights checks send modifies that the server
refuses after its access check (see ``doctor_openldap``), and nothing in a
finding holds a password. When a step fails, the checks that need it are not
run, so one cause gives one finding, not ten.
"""

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from ldap3 import Connection
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

from opensspr.directory.errors import DirectoryCode, DirectoryError, DirectoryUnavailableError
from opensspr.directory.ldap import ad_codes, doctor_ad, doctor_openldap
from opensspr.directory.ldap.common import search
from opensspr.directory.ldap.config import LdapConfig
from opensspr.directory.ldap.connection import close, open_bound, translated
from opensspr.directory.ldap.doctor_transport import connected, transport_finding
from opensspr.directory.ldap.findings import (
    Finding,
    Severity,
    error,
    gettext_noop,
    ok,
    ordered,
    warning,
    worst,
)

__all__ = ["Finding", "Kind", "Severity", "diagnose", "worst"]


class Kind(StrEnum):
    OPENLDAP = "openldap"
    ACTIVE_DIRECTORY = "active_directory"


# sspr-behaviour §7.6: OU names with these make writeback fail (event 33001).
RESERVED = frozenset(',+"\\<>;\n\r=/')


def diagnose(
    config: LdapConfig,
    *,
    kind: str,
    scope_dns: Iterable[str],
    sample_user_id: str | None = None,
    policy_hints: bool = True,
) -> list[Finding]:
    """Every finding for one server of the directory, errors first.

    ``scope_dns`` are the OUs writeback acts in (the base DN when none);
    ``policy_hints`` is whether AD resets are configured to send the control.
    """
    scopes = list(scope_dns) or [config.user_base]
    findings = [finding for dn in scopes if (finding := check_names(dn))]
    subject = f"{config.host}:{config.port}"
    try:
        connection, bound = open_bound(config, config.bind_dn, config.bind_password)
    except DirectoryUnavailableError as exc:
        findings.append(transport_finding(config, exc))
        return ordered(findings)
    try:
        findings.append(connected(config, subject))
        if not bound:
            findings.append(bind_failed(config, connection.result))
            return ordered(findings)
        findings.append(
            ok("service_bind_ok", config.bind_dn, gettext_noop("The service account signed in."))
        )
        findings += _checks(
            config,
            connection,
            kind=kind,
            scopes=scopes,
            sample_user_id=sample_user_id,
            policy_hints=policy_hints,
        )
    finally:
        close(connection)
    return ordered(findings)


def _checks(
    config: LdapConfig,
    connection: Connection,
    *,
    kind: str,
    scopes: list[str],
    sample_user_id: str | None,
    policy_hints: bool,
) -> list[Finding]:
    """The directory's own checks; a connection lost halfway is a finding, not a crash."""
    findings: list[Finding] = []
    try:
        with translated():
            if kind == Kind.ACTIVE_DIRECTORY:
                findings += doctor_ad.check(config, connection, scopes, policy_hints=policy_hints)
            else:
                findings += doctor_openldap.check(config, connection, scopes)
            if sample_user_id:
                findings.append(check_sample(config, connection, scopes, sample_user_id))
    except DirectoryError as exc:
        findings.append(
            error(
                "check_interrupted",
                f"{config.host}:{config.port}",
                gettext_noop(
                    "The directory stopped answering during the checks (%(reason)s); the "
                    "findings above are those made before."
                ),
                gettext_noop(
                    "Check the directory's logs and the network, then run the doctor again."
                ),
                reason=exc.code,
            )
        )
    return findings


#: Why a refused service bind was refused, when the directory says (AD's sub-status in the
#: diagnostic, e.g. "data 775"): (cause, fix). A wrong password or an unknown DN says nothing
#: more, on purpose, so it stays the general finding.
_BIND_REASONS: dict[DirectoryCode, tuple[str, str]] = {
    DirectoryCode.ACCOUNT_LOCKED: (
        gettext_noop(
            "The service account is locked out (too many wrong passwords, perhaps from an old "
            "password still configured somewhere)."
        ),
        gettext_noop(
            "Unlock it in the directory, then find what else signs in with an old password."
        ),
    ),
    DirectoryCode.ACCOUNT_DISABLED: (
        gettext_noop("The service account is disabled or has expired."),
        gettext_noop("Enable it (or extend its expiry) in the directory."),
    ),
    DirectoryCode.PASSWORD_EXPIRED: (
        gettext_noop("The service account's password has expired."),
        gettext_noop(
            "Set a new password on it (and 'password never expires' for a service account), "
            "then enter it here."
        ),
    ),
    DirectoryCode.MUST_CHANGE_PASSWORD: (
        gettext_noop("The service account must change its password before it can sign in."),
        gettext_noop(
            "Set its password again without 'must change at next logon', then enter it here."
        ),
    ),
}


def bind_failed(config: LdapConfig, result: Mapping[str, Any] | None = None) -> Finding:
    code = ad_codes.code_for(str((result or {}).get("message", "")))
    if code in _BIND_REASONS:
        cause, fix = _BIND_REASONS[code]
        return error(DirectoryCode.SERVICE_BIND_FAILED.value, config.bind_dn, cause, fix)
    return error(
        DirectoryCode.SERVICE_BIND_FAILED.value,
        config.bind_dn,
        gettext_noop("The directory refused the service account's DN and password."),
        gettext_noop("Check the service account DN and enter its current password again."),
    )


# --- Names and the sample user ------------------------------------------------------------


def check_names(dn: str) -> Finding | None:
    """A warning when an RDN value in ``dn`` holds a character writeback can't handle."""
    try:
        parts = parse_dn(dn)
    except Exception:
        return error(
            "scope_dn_invalid",
            dn,
            gettext_noop("This is not a valid DN."),
            gettext_noop("Correct it in the scope list."),
        )
    for _attribute, value, _separator in parts:
        text = unescape(value)
        bad = sorted({c for c in text if c in RESERVED})
        fix = gettext_noop(
            "Rename the OU without these characters, or keep its users out of scope."
        )
        if bad:
            return warning(
                "ou_reserved_characters",
                dn,
                gettext_noop(
                    "The name %(name)s holds %(characters)s: some tools mis-handle such DNs."
                ),
                fix,
                name=repr(text),
                characters=" ".join(repr(c) for c in bad),
            )
        if text.startswith((" ", "#")) or text.endswith(" "):
            return warning(
                "ou_reserved_characters",
                dn,
                gettext_noop(
                    "The name %(name)s starts or ends with a space, or starts with #: some tools "
                    "mis-handle such DNs."
                ),
                fix,
                name=repr(text),
            )
    return None


def unescape(value: str) -> str:
    """An RDN value as written in a DN (RFC 4514 escapes) back to its characters."""
    out, i = bytearray(), 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            pair = value[i + 1 : i + 3]
            if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
                out.append(int(pair, 16))
                i += 3
                continue
            out += value[i + 1].encode()
            i += 2
            continue
        out += value[i].encode()
        i += 1
    return out.decode("utf-8", "replace")


def check_sample(
    config: LdapConfig, connection: Connection, scopes: list[str], user_id: str
) -> Finding:
    """The sample user must match exactly one entry across the scopes."""
    attribute = config.user_id_attribute
    query = f"(&{config.user_object_filter}({attribute}={escape_filter_chars(user_id)}))"
    found: list[str] = []
    for dn in scopes:
        _code, entries = search(connection, dn, query, subtree=True, limit=2)
        found += [entry_dn for entry_dn, _ in entries]
    if not found:
        return error(
            "sample_user_not_found",
            user_id,
            gettext_noop(
                "No entry in scope has %(attribute)s=%(user_id)s and matches the user filter."
            ),
            gettext_noop("Check the user ID attribute, the user filter and the OUs in scope."),
            attribute=attribute,
            user_id=user_id,
        )
    if len(found) > 1:
        return error(
            "sample_user_multiple",
            user_id,
            gettext_noop(
                "More than one entry in scope has %(attribute)s=%(user_id)s, such as %(first)s "
                "and %(second)s: writeback refuses them all."
            ),
            gettext_noop("Make the user ID attribute unique, or narrow the OUs in scope."),
            attribute=attribute,
            user_id=user_id,
            first=found[0],
            second=found[1],
        )
    return ok(
        "sample_user_found",
        user_id,
        gettext_noop("Found exactly one entry: %(dn)s."),
        dn=found[0],
    )
