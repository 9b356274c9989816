"""The doctor's Active Directory checks: the domain, protected accounts and rights per scope.

The rights of sspr-behaviour §7.6 are read, not tried: ``allowedAttributesEffective``
on a user in scope lists the attributes the service account may write
(``lockoutTime``, ``pwdLastSet``), and the Reset Password control-access right,
which no attribute list shows, is found in the user's DACL (read with the
SD-flags control, DACL only, which any reader of the entry gets) by walking its
entries in order against the service account's ``tokenGroups``: the first entry
that covers the right decides, so a deny placed before the delegation (an
explicit deny, or one inherited from a nearer OU) is found as the DC finds it.

Unexpire Password on the domain (§7.6) is read the same way, from the domain
object: without it a Windows DC leaves a reset password expired (MS-SAMR
3.1.1.8.7). Samba doesn't check it, so only a warning says it is missing.
"""

import struct
import uuid
from collections.abc import Iterator

from ldap3 import Connection

from opensspr.directory.ldap.active_directory import POLICY_HINTS_OID
from opensspr.directory.ldap.common import Attributes, first_int, first_text, search
from opensspr.directory.ldap.config import LdapConfig
from opensspr.directory.ldap.doctor_openldap import scope_missing
from opensspr.directory.ldap.findings import Finding, error, gettext_noop, ok, warning

OLD_POLICY_HINTS_OID = "1.2.840.113556.1.4.2066"
SD_FLAGS_DACL = ("1.2.840.113556.1.4.801", True, b"\x30\x03\x02\x01\x04")
RESET_PASSWORD = uuid.UUID("00299570-246d-11d0-a768-00aa006e0529").bytes_le
UNEXPIRE_PASSWORD = uuid.UUID("ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501").bytes_le
SE_DACL_PROTECTED = 0x1000
CONTROL_ACCESS, GENERIC_ALL = 0x100, 0x10000000
ALLOWED, DENIED, ALLOWED_OBJECT, DENIED_OBJECT = 0, 1, 5, 6
INHERIT_ONLY, OBJECT_TYPE_PRESENT = 0x08, 0x1
WELL_KNOWN = {"S-1-1-0", "S-1-5-11"}  # Everyone, Authenticated Users
MAX_SERVICE_PASSWORD = 256  # sspr-behaviour §7.6: longer ones fail the unlock
PROTECTED_COUNT_LIMIT = 1000


def check(
    config: LdapConfig, connection: Connection, scopes: list[str], *, policy_hints: bool
) -> list[Finding]:
    _code, root = search(connection, "", attributes=["supportedControl", "defaultNamingContext"])
    attributes = root[0][1] if root else {}
    findings = [check_hints(attributes, policy_hints=policy_hints)]
    domain = first_text(attributes, "defaultNamingContext")
    sids = token_sids(connection, config.bind_dn)
    if domain:
        findings += check_min_age(connection, domain)
        findings.append(check_unexpire(connection, domain, sids))
    if len(config.bind_password) > MAX_SERVICE_PASSWORD:
        findings.append(
            warning(
                "service_password_too_long",
                config.bind_dn,
                gettext_noop("The service account's password is longer than 256 characters."),
                gettext_noop("Give it a shorter password (at most 256 characters)."),
            )
        )
    for dn in scopes:
        findings += check_scope(config, connection, dn, sids)
    return findings


def check_hints(root: Attributes, *, policy_hints: bool) -> Finding:
    controls = {value.decode() for value in root.get("supportedcontrol", [])}
    supported = bool(controls & {POLICY_HINTS_OID, OLD_POLICY_HINTS_OID})
    if supported and policy_hints:
        return ok(
            "policy_hints", "rootDSE", gettext_noop("The domain controller supports policy hints.")
        )
    if policy_hints:
        return error(
            "policy_hints_unsupported",
            "rootDSE",
            gettext_noop(
                "The domain controller does not support the policy-hints control, so it refuses "
                "every reset (Samba, 4.22 included; Windows before Server 2016)."
            ),
            gettext_noop(
                "Upgrade Windows domain controllers to Server 2016 or later; on Samba, turn off "
                "'apply history and minimum age to resets' (resets then skip history and "
                "minimum age)."
            ),
        )
    if supported:
        return warning(
            "policy_hints_off",
            "rootDSE",
            gettext_noop(
                "Resets don't send policy hints, so they skip password history and minimum age."
            ),
            gettext_noop("Turn on 'apply history and minimum age to resets': this DC supports it."),
        )
    return warning(
        "policy_hints_off",
        "rootDSE",
        gettext_noop(
            "The DC lacks policy hints and they are off: resets skip history and minimum age."
        ),
        gettext_noop(
            "Where the DCs run Windows, upgrade them to Server 2016 or later, then turn it on."
        ),
    )


def check_min_age(connection: Connection, domain: str) -> list[Finding]:
    _code, entries = search(connection, domain, attributes=["minPwdAge"])
    age = first_int(entries[0][1], "minPwdAge") if entries else None
    if age:  # negative 100-nanosecond intervals
        hours = abs(age) / 10_000_000 / 3600
        return [
            warning(
                "min_password_age",
                domain,
                gettext_noop(
                    "The domain's minimum password age is %(hours)s hours: a second reset within "
                    "that time is refused."
                ),
                gettext_noop(
                    "Set the domain's (or the fine-grained policy's) minimum password age to 0."
                ),
                hours=f"{hours:g}",
            )
        ]
    return []


def check_unexpire(connection: Connection, domain: str, sids: set[str]) -> Finding:
    _code, entries = search(
        connection, domain, attributes=["nTSecurityDescriptor"], controls=[SD_FLAGS_DACL]
    )
    descriptor = _descriptor(entries[0][1]) if entries else b""
    if has_right(descriptor, sids, UNEXPIRE_PASSWORD):
        return ok(
            "unexpire_password",
            domain,
            gettext_noop("The service account holds Unexpire Password on the domain."),
        )
    return warning(
        "unexpire_password_missing",
        domain,
        gettext_noop(
            "The service account lacks Unexpire Password on the domain: a Windows domain "
            "controller then leaves a reset password expired, and people must change it again "
            "at their next sign-in."
        ),
        gettext_noop(
            "Grant it Unexpire Password on the domain object. Authenticated Users hold it by "
            "default, so look for a deny entry or a changed default."
        ),
    )


def check_scope(
    config: LdapConfig, connection: Connection, dn: str, sids: set[str]
) -> list[Finding]:
    code, entries = search(
        connection, dn, attributes=["nTSecurityDescriptor"], controls=[SD_FLAGS_DACL]
    )
    if not entries:
        return [scope_missing(dn, code)]
    findings = []
    if _control(entries[0][1]) & SE_DACL_PROTECTED:
        findings.append(
            warning(
                "inheritance_disabled",
                dn,
                gettext_noop(
                    "Permission inheritance is disabled on this OU: rights delegated above it "
                    "don't reach its users."
                ),
                gettext_noop(
                    "Enable inheritance, or delegate the writeback rights on this OU itself."
                ),
            )
        )
    findings += check_protected(config, connection, dn)
    query = f"(&{config.user_object_filter}(!(adminCount=1)))"
    attributes = ["allowedAttributesEffective", "nTSecurityDescriptor"]
    _code, users = search(connection, dn, query, attributes, subtree=True, controls=[SD_FLAGS_DACL])
    if not users:
        findings.append(
            warning(
                "scope_empty",
                dn,
                gettext_noop(
                    "No unprotected user here matches the user filter, so rights couldn't be "
                    "checked."
                ),
                gettext_noop("Check the user filter, or add a user and run the doctor again."),
            )
        )
        return findings
    findings.append(check_rights(dn, users[0], sids))
    return findings


def check_protected(config: LdapConfig, connection: Connection, dn: str) -> list[Finding]:
    query = f"(&{config.user_object_filter}(adminCount=1))"
    _code, found = search(connection, dn, query, subtree=True, limit=PROTECTED_COUNT_LIMIT)
    if not found:
        return []
    return [
        warning(
            "protected_accounts_in_scope",
            dn,
            gettext_noop(
                "Protected accounts (adminCount=1) in scope: %(count)s, such as %(example)s. "
                "Writeback refuses to reset or unlock them."
            ),
            gettext_noop(
                "Expected for administrators; they change their password on-premises. Move "
                "other accounts out of protected groups and clear adminCount."
            ),
            count=len(found),
            example=found[0][0],
        )
    ]


def check_rights(scope: str, user: tuple[str, Attributes], sids: set[str]) -> Finding:
    dn, attributes = user
    writable = {v.decode().lower() for v in attributes.get("allowedattributeseffective", [])}
    missing = [name for name in ("lockoutTime", "pwdLastSet") if name.lower() not in writable]
    if not has_right(_descriptor(attributes), sids, RESET_PASSWORD):
        missing.insert(0, "Reset password")
    if missing:
        return error(
            "write_rights_missing",
            scope,
            gettext_noop("The service account lacks %(missing)s (checked on %(dn)s)."),
            gettext_noop(
                "Delegate Reset password, Write lockoutTime and Write pwdLastSet on this OU to "
                "it, for descendant user objects (docs/operators/active-directory.md)."
            ),
            missing=", ".join(missing),
            dn=dn,
        )
    return ok(
        "write_rights",
        scope,
        gettext_noop("The service account may reset and unlock (checked on %(dn)s)."),
        dn=dn,
    )


def token_sids(connection: Connection, dn: str) -> set[str]:
    """The service account's own SID, its groups' (nested) and the well-known ones."""
    _code, entries = search(connection, dn, attributes=["objectSid", "tokenGroups"])
    attributes = entries[0][1] if entries else {}
    values = attributes.get("objectsid", []) + attributes.get("tokengroups", [])
    return WELL_KNOWN | {sid_text(value) for value in values} - {""}


def sid_text(value: bytes) -> str:
    """A binary SID as ``S-1-5-21-...``; empty for bytes too short to be one."""
    if len(value) < 8 or len(value) < 8 + 4 * value[1]:
        return ""
    count = value[1]
    authority = int.from_bytes(value[2:8], "big")
    subs = struct.unpack(f"<{count}I", value[8 : 8 + 4 * count])
    return "-".join(["S", str(value[0]), str(authority), *map(str, subs)])


def _descriptor(attributes: Attributes) -> bytes:
    """An entry's security descriptor as read with ``SD_FLAGS_DACL``; empty when absent."""
    return (attributes.get("ntsecuritydescriptor") or [b""])[0]


def _control(attributes: Attributes) -> int:
    descriptor = _descriptor(attributes)
    return int.from_bytes(descriptor[2:4], "little") if len(descriptor) >= 20 else 0


def has_right(descriptor: bytes, sids: set[str], right: bytes) -> bool:
    """Whether the DACL grants one of ``sids`` the control-access ``right``.

    Entries are weighed in their order, as the DC does (MS-DTYP 2.5.3.2): the
    first one for one of ``sids`` that covers the right decides, so a deny before
    the grant wins. Full control and "all extended rights" cover every right.
    """
    for kind, flags, mask, object_type, sid in aces(descriptor):
        if flags & INHERIT_ONLY or sid not in sids:
            continue
        if mask & GENERIC_ALL or (mask & CONTROL_ACCESS and object_type in (None, right)):
            return kind in (ALLOWED, ALLOWED_OBJECT)
    return False


def aces(descriptor: bytes) -> Iterator[tuple[int, int, int, bytes | None, str]]:
    """The allow and deny entries of a self-relative security descriptor's DACL (MS-DTYP 2.4).

    The bytes come from the server: anything truncated or malformed ends the
    walk (no right found), never a crash.
    """
    if len(descriptor) < 20:
        return
    offset = int.from_bytes(descriptor[16:20], "little")
    if not offset or offset + 8 > len(descriptor):
        return
    count = int.from_bytes(descriptor[offset + 4 : offset + 6], "little")
    position = offset + 8
    for _ in range(count):
        size = int.from_bytes(descriptor[position + 2 : position + 4], "little")
        if size < 8 or position + size > len(descriptor):
            return
        kind, flags = descriptor[position], descriptor[position + 1]
        body = descriptor[position + 4 : position + size]
        position += size
        entry = _entry(kind, body)
        if entry is not None:
            mask, object_type, sid = entry
            yield kind, flags, mask, object_type, sid


def _entry(kind: int, body: bytes) -> tuple[int, bytes | None, str] | None:
    mask = int.from_bytes(body[:4], "little")
    if kind in (ALLOWED, DENIED):
        return _with_sid(mask, None, body[4:])
    if kind not in (ALLOWED_OBJECT, DENIED_OBJECT) or len(body) < 8:
        return None
    present = int.from_bytes(body[4:8], "little")
    rest = body[8:]
    object_type = rest[:16] if present & OBJECT_TYPE_PRESENT else None
    rest = rest[16:] if present & OBJECT_TYPE_PRESENT else rest
    rest = rest[16:] if present & 0x2 else rest  # inherited object type
    return _with_sid(mask, object_type, rest)


def _with_sid(
    mask: int, object_type: bytes | None, raw: bytes
) -> tuple[int, bytes | None, str] | None:
    sid = sid_text(raw)
    return (mask, object_type, sid) if sid else None
