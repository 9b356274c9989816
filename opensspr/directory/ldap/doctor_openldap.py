"""The doctor's OpenLDAP checks: ppolicy, the service account, and write rights per scope.

Write rights are tested without writing. OpenLDAP has no "effective rights"
read over LDAP (``slapacl`` is offline only) and its assertion control is
evaluated *before* the access check (back-mdb), so an always-false assertion
says nothing. What works, verified against the tests' slapd: a modify that
deletes a value the entry cannot hold. slapd checks the ACL for the deletion
first (``acl_check_modlist``), then finds no such value: ``noSuchAttribute``
(16) means the right is there, ``insufficientAccessRights`` (50) means it is
not, and the entry is unchanged either way (not even ``modifyTimestamp``).
"""

from ldap3 import MODIFY_DELETE, Connection

from opensspr.directory.ldap.common import first_int, first_text, search
from opensspr.directory.ldap.config import LdapConfig
from opensspr.directory.ldap.findings import Finding, error, gettext_noop, ok, warning
from opensspr.directory.ldap.ppolicy import PPOLICY_OID

SUCCESS, NO_SUCH_ATTRIBUTE, NO_SUCH_OBJECT, INSUFFICIENT_ACCESS = 0, 16, 32, 50
# Values no entry holds: a hash scheme that doesn't exist, the epoch, and FALSE (ppolicy
# only ever writes TRUE; deleting a stray FALSE would change nothing it means).
PROBES = {
    "userPassword": "{OPENSSPR-DOCTOR}not-a-password",
    "pwdAccountLockedTime": "19700101000000Z",
    "pwdReset": "FALSE",
}


def check(config: LdapConfig, connection: Connection, scopes: list[str]) -> list[Finding]:
    findings = [check_overlay(connection), *check_service_account(config, connection)]
    findings += check_policy(config, connection)
    for dn in scopes:
        findings += check_scope(config, connection, dn)
    return [finding for finding in findings if finding]


def check_overlay(connection: Connection) -> Finding:
    _code, entries = search(connection, "", attributes=["supportedControl"])
    controls = {v.decode() for _, attrs in entries for v in attrs.get("supportedcontrol", [])}
    if PPOLICY_OID not in controls:
        return error(
            "ppolicy_overlay_missing",
            "rootDSE",
            gettext_noop(
                "The server does not offer the password policy control: ppolicy is not loaded."
            ),
            gettext_noop(
                "Load the ppolicy module and add the overlay to the database (olcOverlay=ppolicy)."
            ),
        )
    return ok("ppolicy_overlay", "rootDSE", gettext_noop("The ppolicy overlay answers."))


def check_service_account(config: LdapConfig, connection: Connection) -> list[Finding]:
    """A bind DN with no entry can only be the rootdn, which bypasses ppolicy."""
    code, _entries = search(connection, config.bind_dn)
    if code == NO_SUCH_OBJECT:
        return [
            warning(
                "service_is_rootdn",
                config.bind_dn,
                gettext_noop(
                    "The service account has no entry it can read, so it is most likely the "
                    "database's rootdn: resets by it skip ppolicy (length, history, minimum age) "
                    "and ACLs."
                ),
                gettext_noop(
                    "Create a service account entry and grant it the writeback rights "
                    "(docs/operators/openldap.md)."
                ),
            )
        ]
    return []


def check_policy(config: LdapConfig, connection: Connection) -> list[Finding]:
    dn = config.default_policy_dn
    if not dn:
        return [
            warning(
                "ppolicy_default_not_set",
                "default password policy DN",
                gettext_noop(
                    "No default policy DN is configured, so the reset page can't show its rules."
                ),
                gettext_noop("Enter the DN that olcPPolicyDefault names."),
            )
        ]
    attributes = ["objectClass", "pwdMinAge", "pwdMustChange"]
    _code, entries = search(connection, dn, attributes=attributes)
    classes = {v.decode().lower() for _, a in entries for v in a.get("objectclass", [])}
    if "pwdpolicy" not in classes:
        return [
            error(
                "ppolicy_default_missing",
                dn,
                gettext_noop(
                    "This entry does not exist, is not a pwdPolicy, or the service account can't "
                    "read it."
                ),
                gettext_noop(
                    "Point the default policy DN at the entry olcPPolicyDefault names, and let "
                    "the service account read it."
                ),
            )
        ]
    policy = entries[0][1]
    findings = [ok("ppolicy_default", dn, gettext_noop("The default password policy is readable."))]
    if (first_int(policy, "pwdMinAge") or 0) > 0:
        findings.append(
            warning(
                "ppolicy_min_age",
                dn,
                gettext_noop(
                    "pwdMinAge is %(seconds)s seconds: a second reset within that time is "
                    "refused as too young."
                ),
                gettext_noop("Set pwdMinAge to 0 in this policy entry."),
                seconds=first_int(policy, "pwdMinAge"),
            )
        )
    if (first_text(policy, "pwdMustChange") or "FALSE").upper() != "TRUE":
        findings.append(
            warning(
                "ppolicy_no_must_change",
                dn,
                gettext_noop(
                    "pwdMustChange is FALSE: temporary passwords set in the directory won't "
                    "force a change."
                ),
                gettext_noop(
                    "Set pwdMustChange to TRUE if administrators hand out temporary passwords "
                    "in the directory (OpenSSPR's own temporary passwords set pwdReset anyway)."
                ),
            )
        )
    return findings


def check_scope(config: LdapConfig, connection: Connection, dn: str) -> list[Finding]:
    code, entries = search(connection, dn)
    if not entries:
        return [scope_missing(dn, code)]
    _code, users = search(connection, dn, config.user_object_filter, subtree=True)
    if not users:
        return [
            warning(
                "scope_empty",
                dn,
                gettext_noop(
                    "No entry here matches the user filter, so write rights couldn't be checked."
                ),
                gettext_noop("Check the user filter, or add a user and run the doctor again."),
            )
        ]
    return [check_rights(connection, dn, users[0][0])]


def scope_missing(dn: str, code: int) -> Finding:
    return error(
        "scope_missing",
        dn,
        gettext_noop(
            "This DN does not exist or the service account can't read it (LDAP result %(result)s)."
        ),
        gettext_noop(
            "Correct the DN in the scope, or grant the service account read access to it."
        ),
        result=code,
    )


def check_rights(connection: Connection, scope: str, dn: str) -> Finding:
    missing, unknown = [], []
    for attribute, value in PROBES.items():
        connection.modify(dn, {attribute: [(MODIFY_DELETE, [value])]})
        result = int(connection.result.get("result") or 0)
        if result == INSUFFICIENT_ACCESS:
            missing.append(attribute)
        elif result not in (SUCCESS, NO_SUCH_ATTRIBUTE):
            unknown.append(f"{attribute} ({result})")
    if missing:
        return error(
            "write_rights_missing",
            scope,
            gettext_noop("The service account may not write %(missing)s (checked on %(dn)s)."),
            gettext_noop(
                "Grant it write access to userPassword, pwdAccountLockedTime and pwdReset on "
                "this subtree (an olcAccess rule; docs/operators/openldap.md)."
            ),
            missing=", ".join(missing),
            dn=dn,
        )
    if unknown:
        return warning(
            "write_rights_unknown",
            scope,
            gettext_noop("The rights check got an unexpected answer for %(unknown)s on %(dn)s."),
            gettext_noop("Check the directory's logs; a reset may still work."),
            unknown=", ".join(unknown),
            dn=dn,
        )
    return ok(
        "write_rights",
        scope,
        gettext_noop("The service account may write passwords (checked on %(dn)s)."),
        dn=dn,
    )
