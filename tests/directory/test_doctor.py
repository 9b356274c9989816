"""The writeback doctor against the tests' real slapd: each fault named with its cause and fix."""

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from opensspr.audit.models import AuditEvent
from opensspr.core.crypto import seal
from opensspr.demo.certs import issue
from opensspr.directory.ldap.config import TlsMode
from opensspr.directory.ldap.doctor import Finding, Kind, Severity, check_names, diagnose
from opensspr.directory.ldap.doctor_ad import RESET_PASSWORD, has_right, sid_text
from opensspr.directory.models import DirectorySettings
from tests.console.test_console import _signed_in
from tests.directory import slapd
from tests.directory.slapd import openldap_config


def run(server: slapd.Slapd, scopes: list[str] | None = None, **overrides: object) -> list[Finding]:
    config = openldap_config(server, **overrides)
    return diagnose(config, kind=Kind.OPENLDAP, scope_dns=scopes or [slapd.PEOPLE])


def codes(findings: list[Finding], severity: Severity | None = None) -> set[str]:
    return {f.code for f in findings if severity is None or f.severity is severity}


def test_a_healthy_directory_has_no_errors(slapd_server, ldap_user: Callable[..., str]) -> None:
    dn = ldap_user()
    uid = dn.split(",")[0].split("=")[1]
    findings = diagnose(
        openldap_config(slapd_server),
        kind=Kind.OPENLDAP,
        scope_dns=[slapd.PEOPLE],
        sample_user_id=uid,
    )
    assert codes(findings, Severity.ERROR) == set()
    assert {"connected", "service_bind_ok", "ppolicy_overlay", "ppolicy_default"} <= codes(
        findings, Severity.OK
    )
    assert "write_rights" in codes(findings, Severity.OK)
    assert "sample_user_found" in codes(findings, Severity.OK)
    # The tests' default policy has pwdMustChange FALSE: named, with its fix.
    [must_change] = [f for f in findings if f.code == "ppolicy_no_must_change"]
    assert must_change.severity is Severity.WARNING and "won't force a change" in must_change.cause
    assert findings[0].severity is not Severity.OK  # the warning comes before the oks


def test_the_rights_check_writes_nothing(slapd_server, ldap_user) -> None:
    dn = ldap_user()
    admin = slapd_server.admin()
    try:
        admin.search(dn, "(objectClass=*)", "BASE", attributes=["*", "+"])
        before = admin.response[0]["raw_attributes"]
        run(slapd_server)
        admin.search(dn, "(objectClass=*)", "BASE", attributes=["*", "+"])
        assert admin.response[0]["raw_attributes"] == before
    finally:
        admin.unbind()


def test_a_wrong_service_password(slapd_server) -> None:
    findings = run(slapd_server, bind_password="not-the-password")
    assert codes(findings, Severity.ERROR) == {"service_bind_failed"}
    assert "connected" in codes(findings)  # TLS was fine: the cause is the password


def test_a_certificate_from_another_ca(slapd_server, tmp_path: Path) -> None:
    other = issue(tmp_path / "other", slapd.SERVER_NAME)
    for tls, port in ((TlsMode.STARTTLS, None), (TlsMode.LDAPS, slapd_server.ldaps_port)):
        extra = {"tls": tls, "port": port} if port else {"tls": tls}
        findings = run(slapd_server, ca_file=str(other.ca_file), **extra)
        [finding] = findings
        assert finding.code == "tls_untrusted", finding
        assert "CA certificate" in finding.fix


def test_a_name_the_certificate_does_not_carry(slapd_server) -> None:
    [finding] = run(slapd_server, server_name="elsewhere.test")
    assert finding.code == "tls_name_mismatch"
    assert "elsewhere.test" in finding.cause


def test_nothing_listening(slapd_server) -> None:
    [finding] = run(slapd_server, port=slapd.free_port())
    assert finding.code == "connect_refused"


def test_a_missing_default_policy_entry(slapd_server) -> None:
    findings = run(slapd_server, default_policy_dn=f"cn=missing,{slapd.POLICIES}")
    assert codes(findings, Severity.ERROR) == {"ppolicy_default_missing"}


def test_a_minimum_password_age(slapd_server) -> None:
    findings = run(slapd_server, default_policy_dn=f"cn=aged,{slapd.POLICIES}")
    [age] = [f for f in findings if f.code == "ppolicy_min_age"]
    assert age.severity is Severity.WARNING and "3600 seconds" in age.cause


def test_the_rootdn_as_service_account(slapd_server) -> None:
    findings = run(slapd_server, bind_dn=slapd.ADMIN_DN, bind_password=slapd.ADMIN_PW)
    assert "service_is_rootdn" in codes(findings, Severity.WARNING)


def test_an_ou_with_a_reserved_character(slapd_server, ldap_user) -> None:
    ou = f"ou=Sales\\, EMEA,{slapd.SUFFIX}"
    admin = slapd_server.admin()
    try:
        admin.add(ou, ["organizationalUnit"], {"ou": "Sales, EMEA"})
    finally:
        admin.unbind()
    findings = run(slapd_server, scopes=[slapd.PEOPLE, ou])
    [reserved] = [f for f in findings if f.code == "ou_reserved_characters"]
    assert reserved.subject == ou and "','" in reserved.cause
    assert "scope_empty" in codes(findings, Severity.WARNING)  # no one in it to check rights on


def test_a_missing_scope(slapd_server) -> None:
    findings = run(slapd_server, scopes=[f"ou=nowhere,{slapd.SUFFIX}"])
    assert codes(findings, Severity.ERROR) == {"scope_missing"}


def test_a_service_account_without_write_rights(slapd_server, ldap_user) -> None:
    ldap_user()
    dn = f"cn=reader,{slapd.SUFFIX}"
    admin = slapd_server.admin()
    try:
        admin.add(
            dn,
            ["organizationalRole", "simpleSecurityObject"],
            {"cn": "reader", "userPassword": "readerpw"},
        )
    finally:
        admin.unbind()
    findings = run(slapd_server, bind_dn=dn, bind_password="readerpw")
    [rights] = [f for f in findings if f.code == "write_rights_missing"]
    assert rights.severity is Severity.ERROR
    assert "userPassword, pwdAccountLockedTime, pwdReset" in rights.cause


def test_a_sample_user_that_matches_twice_or_never(slapd_server, ldap_user) -> None:
    other = f"ou=elsewhere,{slapd.SUFFIX}"
    admin = slapd_server.admin()
    try:
        admin.add(other, ["organizationalUnit"], {"ou": "elsewhere"})
        admin.add(f"uid=twin,{other}", ["inetOrgPerson"], {"cn": "t", "sn": "t", "uid": "twin"})
    finally:
        admin.unbind()
    ldap_user(uid="twin")
    config = openldap_config(slapd_server)
    twice = diagnose(
        config, kind=Kind.OPENLDAP, scope_dns=[slapd.PEOPLE, other], sample_user_id="twin"
    )
    assert "sample_user_multiple" in codes(twice, Severity.ERROR)
    never = diagnose(config, kind=Kind.OPENLDAP, scope_dns=[other], sample_user_id="nobody")
    assert "sample_user_not_found" in codes(never, Severity.ERROR)


# --- The command ---------------------------------------------------------------------------


def configure(server: slapd.Slapd, **overrides: object) -> None:
    values: dict = {
        "urls": f"ldap://127.0.0.1:{server.ldap_port}",
        "tls_mode": "starttls",
        "ca_certificate": server.tls.ca_file.read_text(),
        "server_name": slapd.SERVER_NAME,
        "bind_dn": slapd.RESETTER_DN,
        "bind_password_sealed": seal(slapd.RESETTER_PW),
        "base_dn": slapd.SUFFIX,
        "user_ous": slapd.PEOPLE,
        "ppolicy_default_dn": f"cn=default,{slapd.POLICIES}",
    }
    DirectorySettings.objects.create(pk=1, **(values | overrides))


@pytest.mark.django_db
def test_the_command_lists_findings_and_exits_zero_without_errors(
    slapd_server, ldap_user, capsys
) -> None:
    ldap_user()
    configure(slapd_server)
    call_command("directory", "doctor")
    out = capsys.readouterr().out
    assert out.startswith(f"ldap://127.0.0.1:{slapd_server.ldap_port}\n")
    assert "  Warnings (1)\n    [ppolicy_no_must_change] cn=default," in out
    assert " Fix: Set pwdMustChange to TRUE" in out
    assert "[write_rights] ou=people,dc=example,dc=org:" in out
    assert "Errors" not in out
    assert slapd.RESETTER_PW not in out


@pytest.mark.django_db
def test_the_command_exits_one_on_an_error_and_speaks_json(slapd_server, capsys) -> None:
    configure(slapd_server, bind_password_sealed=seal("wrong-password"))
    with pytest.raises(SystemExit) as exited:
        call_command("directory", "doctor", "--json")
    assert exited.value.code == 1
    [report] = json.loads(capsys.readouterr().out)
    assert report["severity"] == "error"
    first = report["findings"][0]
    assert first["code"] == "service_bind_failed" and first["severity"] == "error"
    assert set(first) == {"code", "severity", "subject", "cause", "fix"}


@pytest.mark.django_db
def test_the_command_without_a_directory() -> None:
    with pytest.raises(CommandError) as raised:
        call_command("directory", "doctor")
    assert raised.value.returncode == 2


@pytest.mark.django_db
def test_reconcile_reports_how_many_it_settled(capsys) -> None:
    call_command("directory", "reconcile")
    assert capsys.readouterr().out == "Settled 0 pending directory write(s).\n"


# --- The console -------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_console_button_runs_the_doctor(client, user_factory, slapd_server, ldap_user) -> None:
    uid = ldap_user().split(",")[0].split("=")[1]
    configure(slapd_server, ppolicy_default_dn=f"cn=missing,{slapd.POLICIES}")
    _signed_in(client, user_factory(roles=("global_admin",)))
    change = client.get("/console/directory/directorysettings/1/change/").content.decode()
    assert 'href="/console/directory/directorysettings/doctor/"' in change
    page = client.get("/console/directory/directorysettings/doctor/").content.decode()
    assert "Check the directory" in page and "doctor-findings" not in page  # GET runs nothing
    page = client.post(
        "/console/directory/directorysettings/doctor/", {"sample_user": uid}
    ).content.decode()
    assert f"ldap://127.0.0.1:{slapd_server.ldap_port}" in page
    assert "Writeback will fail until the errors below are fixed." in page
    assert 'id="finding-1-ppolicy_default_missing"' in page
    assert 'id="finding-1-sample_user_found"' in page
    assert slapd.RESETTER_PW not in page
    (event,) = AuditEvent.objects.filter(activity="directory.checked")
    assert event.actor is not None
    assert event.outcome == "failure" and event.reason == "error"
    assert "ppolicy_default_missing" in event.details["findings"]
    assert event.details["sample_user"] is True
    assert uid not in json.dumps(event.details) + event.target_label  # never the typed ID


@pytest.mark.django_db
def test_only_global_administrators_run_the_doctor(client, user_factory) -> None:
    _signed_in(client, user_factory(roles=("helpdesk_admin",)))
    response = client.post("/console/directory/directorysettings/doctor/")
    assert response.status_code == 403


@pytest.mark.django_db
def test_the_console_says_when_nothing_is_configured(client, user_factory) -> None:
    _signed_in(client, user_factory(roles=("global_admin",)))
    page = client.post("/console/directory/directorysettings/doctor/").content.decode()
    assert "No on-premises directory is configured yet" in page


def test_a_server_that_accepts_but_never_answers(slapd_server, proxy_to) -> None:
    proxy = proxy_to(slapd_server.ldap_port)
    proxy.set_mode("stall")
    [finding] = run(slapd_server, host="127.0.0.1", port=proxy.port)
    assert finding.code == "connect_failed" and finding.severity is Severity.ERROR


# --- Pure parts ----------------------------------------------------------------------------


def test_rdn_values_are_unescaped_before_the_reserved_character_check() -> None:
    assert check_names("ou=people,dc=example,dc=org") is None
    assert check_names("ou=R\\26D,dc=example,dc=org") is None  # & is fine
    for dn in ("ou=\\#team,dc=x", "ou=a\\2Cb,dc=x", "ou=trailing\\ ,dc=x", "ou=a/b,dc=x"):
        finding = check_names(dn)
        assert finding is not None and finding.code == "ou_reserved_characters", dn


def test_a_malformed_security_descriptor_grants_nothing_and_never_crashes() -> None:
    sid = bytes([1, 1, 0, 0, 0, 0, 0, 5, 11, 0, 0, 0])  # S-1-5-11, Authenticated Users
    assert sid_text(sid) == "S-1-5-11"
    ace = bytes([0, 0]) + (8 + len(sid)).to_bytes(2, "little") + (0x100).to_bytes(4, "little") + sid
    acl = (
        bytes([2, 0]) + (8 + len(ace)).to_bytes(2, "little") + (1).to_bytes(2, "little") + bytes(2)
    )
    header = bytes([1, 0]) + (0x8004).to_bytes(2, "little") + bytes(12) + (20).to_bytes(4, "little")
    descriptor = header + acl + ace
    assert has_right(descriptor, {"S-1-5-11"}, RESET_PASSWORD)
    for cut in range(len(descriptor)):
        has_right(descriptor[:cut], {"S-1-5-11"}, RESET_PASSWORD)  # no exception for any cut
    assert not has_right(descriptor[:-1], {"S-1-5-11"}, RESET_PASSWORD)


def _descriptor(*entries: tuple[int, int]) -> bytes:
    """A DACL of (ACE type, access mask) entries for Authenticated Users, in that order."""
    sid = bytes([1, 1, 0, 0, 0, 0, 0, 5, 11, 0, 0, 0])
    aces = b"".join(
        bytes([kind, 0]) + (8 + len(sid)).to_bytes(2, "little") + mask.to_bytes(4, "little") + sid
        for kind, mask in entries
    )
    count = len(entries).to_bytes(2, "little")
    acl = bytes([2, 0]) + (8 + len(aces)).to_bytes(2, "little") + count + bytes(2)
    header = bytes([1, 0]) + (0x8004).to_bytes(2, "little") + bytes(12) + (20).to_bytes(4, "little")
    return header + acl + aces


def test_the_first_entry_that_covers_the_right_decides() -> None:
    allow, deny, everything = 0, 1, 0x100  # access allowed / denied; all extended rights
    who = {"S-1-5-11"}
    assert not has_right(_descriptor((deny, everything), (allow, everything)), who, RESET_PASSWORD)
    assert has_right(_descriptor((allow, everything), (deny, everything)), who, RESET_PASSWORD)
    assert not has_right(_descriptor((deny, 0x10000000)), who, RESET_PASSWORD)  # deny full control
    assert has_right(_descriptor((deny, 0x20), (allow, everything)), who, RESET_PASSWORD)  # other


@pytest.mark.django_db
def test_the_findings_read_in_the_administrators_language(
    client, user_factory, slapd_server, ldap_user
) -> None:
    """The connectors write English templates; the console translates and fills them."""
    uid = ldap_user().split(",")[0].split("=")[1]
    configure(slapd_server, ppolicy_default_dn=f"cn=missing,{slapd.POLICIES}")
    _signed_in(client, user_factory(roles=("global_admin",)))
    page = client.post(
        "/console/directory/directorysettings/doctor/",
        {"sample_user": uid},
        headers={"accept-language": "nl"},
    ).content.decode()
    assert "Verbonden met StartTLS; het certificaat wordt vertrouwd" in page
    assert "Dit item bestaat niet, is geen pwdPolicy" in page  # the missing default policy
    assert f"Precies één item gevonden: uid={uid}," in page  # filled with the entry's DN
    assert "Connected with" not in page and "Found exactly one entry" not in page


def test_every_doctor_template_is_marked_for_the_translators() -> None:
    """A cause or fix written without ``gettext_noop`` would stay English in every language."""
    import ast
    from pathlib import Path

    from opensspr.directory.ldap import doctor as module

    folder = Path(module.__file__).parent
    unmarked = []
    for path in sorted(folder.glob("doctor*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") in FINDING_MAKERS):
                continue
            for text in node.args[2:4]:
                if isinstance(text, ast.Constant | ast.JoinedStr):
                    unmarked.append(f"{path.name}:{node.lineno}")
    assert not unmarked, unmarked


FINDING_MAKERS = {"ok", "warning", "error"}
