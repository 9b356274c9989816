"""The writeback doctor against a real Samba AD DC (run under flock /tmp/opensspr-samba.lock)."""

from ldap3 import MODIFY_REPLACE

from opensspr.directory.ldap.active_directory import encode_password
from opensspr.directory.ldap.connection import open_bound
from opensspr.directory.ldap.doctor import Finding, Kind, Severity, diagnose
from tests.directory import samba

USERS = f"CN=Users,{samba.DOMAIN_DN}"


def run(dc: samba.SambaDc, scopes: list[str], **overrides: object) -> list[Finding]:
    hints = bool(overrides.pop("policy_hints", dc.supports_policy_hints))
    return diagnose(
        samba.ad_connector_config(dc, **overrides),
        kind=Kind.ACTIVE_DIRECTORY,
        scope_dns=scopes,
        policy_hints=hints,
    )


def by_code(findings: list[Finding], code: str) -> Finding:
    [finding] = [f for f in findings if f.code == code]
    return finding


def test_the_delegated_service_account_has_the_writeback_rights(samba_dc, ad_user) -> None:
    ad_user()
    findings = run(samba_dc, [samba.PEOPLE])
    assert {f.code for f in findings if f.severity is Severity.ERROR} == set()
    rights = by_code(findings, "write_rights")
    assert rights.severity is Severity.OK and rights.subject == samba.PEOPLE


def test_policy_hints_the_dc_lacks(samba_dc, ad_user) -> None:
    ad_user()
    finding = by_code(
        run(samba_dc, [samba.PEOPLE], policy_hints=True),
        "policy_hints_unsupported" if not samba_dc.supports_policy_hints else "policy_hints",
    )
    if samba_dc.supports_policy_hints:
        assert finding.severity is Severity.OK
    else:  # Samba (4.17 and 4.22 alike): every reset with the control would be refused
        assert finding.severity is Severity.ERROR
        assert "turn off" in finding.fix
        off = by_code(run(samba_dc, [samba.PEOPLE], policy_hints=False), "policy_hints_off")
        assert off.severity is Severity.WARNING


def test_a_protected_account_in_scope(samba_dc, ad_user) -> None:
    dn = ad_user()
    admin = samba_dc.admin()
    try:
        assert admin.modify(dn, {"adminCount": [(MODIFY_REPLACE, ["1"])]}), admin.result
        findings = run(samba_dc, [samba.PEOPLE])
    finally:
        admin.modify(dn, {"adminCount": [(MODIFY_REPLACE, ["0"])]})
        admin.unbind()
    finding = by_code(findings, "protected_accounts_in_scope")
    assert finding.severity is Severity.WARNING and dn in finding.cause
    assert finding.cause.startswith("Protected accounts (adminCount=1) in scope: 1, such as CN=")
    assert by_code(findings, "write_rights").severity is Severity.OK  # checked on another user


def test_a_scope_without_delegated_rights(samba_dc, ad_user) -> None:
    ad_user(parent=USERS)
    findings = run(samba_dc, [samba.PEOPLE, USERS])
    missing = by_code(findings, "write_rights_missing")
    assert missing.severity is Severity.ERROR and missing.subject == USERS
    assert "Reset password, lockoutTime, pwdLastSet" in missing.cause
    assert by_code(findings, "protected_accounts_in_scope").subject == USERS  # Administrator


def test_an_account_with_no_delegation_at_all(samba_dc, ad_user) -> None:
    ad_user()
    name = "plainreader"
    dn = f"CN={name},{USERS}"
    admin = samba_dc.admin()
    try:
        admin.add(
            dn,
            ["top", "person", "organizationalPerson", "user"],
            {
                "sAMAccountName": name,
                "unicodePwd": encode_password(samba.INITIAL_PW),
                "userAccountControl": 512,
            },
        )
    finally:
        admin.unbind()
    findings = run(samba_dc, [samba.PEOPLE], bind_dn=dn, bind_password=samba.INITIAL_PW)
    missing = by_code(findings, "write_rights_missing")
    assert missing.subject == samba.PEOPLE
    assert "Reset password" in missing.cause


def test_a_wrong_service_password(samba_dc) -> None:
    findings = run(samba_dc, [samba.PEOPLE], bind_password="Not-The-Passw0rd")
    assert {f.code for f in findings if f.severity is Severity.ERROR} == {"service_bind_failed"}


def test_a_minimum_password_age(samba_dc, ad_user) -> None:
    ad_user()
    # Without ldap3's schema (its validator refuses AD's raw interval), as the Administrator.
    config = samba.ad_connector_config(
        samba_dc, bind_dn=samba.ADMIN_DN, bind_password=samba.ADMIN_PW
    )
    admin, bound = open_bound(config, config.bind_dn, config.bind_password)
    assert bound
    day = str(-24 * 3600 * 10_000_000)  # negative 100-ns intervals, as AD stores it
    try:
        assert admin.modify(samba.DOMAIN_DN, {"minPwdAge": [(MODIFY_REPLACE, [day])]})
        findings = run(samba_dc, [samba.PEOPLE])
    finally:
        admin.modify(samba.DOMAIN_DN, {"minPwdAge": [(MODIFY_REPLACE, ["0"])]})
        admin.unbind()
    age = by_code(findings, "min_password_age")
    assert age.severity is Severity.WARNING and "24 hours" in age.cause


def test_a_disabled_service_account_is_named_as_such(samba_dc, ad_user) -> None:
    """AD says why it refused a bind (``data 533``) once the password is right: the finding
    names the fix (enable the account) instead of "check the password"."""
    ad_user()
    dn = ad_user(parent=USERS)
    admin = samba_dc.admin()
    try:
        admin.modify(dn, {"userAccountControl": [(MODIFY_REPLACE, ["514"])]})  # disabled
    finally:
        admin.unbind()
    findings = run(samba_dc, [samba.PEOPLE], bind_dn=dn, bind_password=samba.INITIAL_PW)
    refused = by_code(findings, "service_bind_failed")
    assert "disabled" in refused.cause and "Enable it" in refused.fix


def test_a_deny_placed_before_the_delegation_wins(samba_dc, ad_user) -> None:
    """Rights delegated on People are denied again on an OU below it: reset can't work there."""
    denied = f"OU=Denied{next(_ous)},{samba.PEOPLE}"
    admin = samba_dc.admin()
    try:
        assert admin.add(denied, ["top", "organizationalUnit"]), admin.result
    finally:
        admin.unbind()
    sid = _resetter_sid(samba_dc)
    reset_password = "00299570-246d-11d0-a768-00aa006e0529"
    samba._tool(
        samba_dc.folder, "dsacl", "set", f"--objectdn={denied}",
        f"--sddl=(OD;CI;CR;{reset_password};;{sid})",
    )  # fmt: skip
    ad_user(parent=denied)
    findings = run(samba_dc, [denied])
    missing = by_code(findings, "write_rights_missing")
    assert missing.subject == denied and missing.cause.startswith(
        "The service account lacks Reset password (checked on CN=aduser"
    )
    assert "lockoutTime" not in missing.cause  # only the denied right is missing


def test_unexpire_password_on_the_domain_is_reported(samba_dc, ad_user) -> None:
    """AD grants it to Authenticated Users by default; the doctor reads the domain's DACL."""
    ad_user()
    finding = by_code(run(samba_dc, [samba.PEOPLE]), "unexpire_password")
    assert finding.severity is Severity.OK and finding.subject == samba.DOMAIN_DN


_ous = iter(range(1, 1000))


def _resetter_sid(dc: samba.SambaDc) -> str:
    shown = samba._tool(dc.folder, "user", "show", "resetter", "--attributes=objectSid")
    return shown.split("objectSid:")[1].split()[0]


def test_unexpire_password_denied_on_the_domain_is_a_warning(samba_dc, ad_user) -> None:
    from opensspr.directory.ldap.doctor_ad import SD_FLAGS_DACL

    ad_user()
    admin = samba_dc.admin()
    try:
        admin.search(
            samba.DOMAIN_DN, "(objectClass=*)", "BASE", attributes=["nTSecurityDescriptor"],
            controls=[SD_FLAGS_DACL],
        )  # fmt: skip
        saved = admin.response[0]["raw_attributes"]["nTSecurityDescriptor"][0]
        sid = _resetter_sid(samba_dc)
        unexpire = "ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501"
        samba._tool(
            samba_dc.folder, "dsacl", "set", f"--objectdn={samba.DOMAIN_DN}",
            f"--sddl=(OD;;CR;{unexpire};;{sid})",
        )  # fmt: skip
        findings = run(samba_dc, [samba.PEOPLE])
    finally:
        replaced = admin.modify(
            samba.DOMAIN_DN,
            {"nTSecurityDescriptor": [(MODIFY_REPLACE, [saved])]},
            controls=[SD_FLAGS_DACL],
        )
        admin.unbind()
    assert replaced
    finding = by_code(findings, "unexpire_password_missing")
    assert finding.severity is Severity.WARNING and finding.subject == samba.DOMAIN_DN
    assert by_code(run(samba_dc, [samba.PEOPLE]), "unexpire_password").severity is Severity.OK
