"""A private Samba AD DC in a temporary folder (infrastructure-recipes.md §2).

Provisioned once per test session (about 5 s), with a test-friendly domain
policy (lockout after 3, history 3, minimum length 8, minimum age 0), an
``OU=People`` and a ``resetter`` service account that is delegated exactly the
writeback rights of sspr-behaviour §7.6 on that OU (reset password, write
``lockoutTime`` and ``pwdLastSet``), not a Domain Admin.

Samba's LDAP ports are fixed (389/636), so the DC listens on 127.0.0.1 and the
fixture needs those ports free.
"""

import socket
import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ldap3 import Connection, Server, Tls

from opensspr.demo.certs import Issued, issue
from opensspr.demo.processes import stop_process, wait_ready
from opensspr.directory.ldap.active_directory import ad_config
from opensspr.directory.ldap.config import LdapConfig, TlsMode

SAMBA = Path("/usr/sbin/samba")
SAMBA_TOOL = Path("/usr/bin/samba-tool")
PROVISION_DATA = Path("/usr/share/samba/setup")  # Debian package samba-ad-provision
HOST = "127.0.0.1"
DOMAIN_DN = "DC=example,DC=test"
PEOPLE = f"OU=People,{DOMAIN_DN}"
ADMIN_DN = f"CN=Administrator,CN=Users,{DOMAIN_DN}"
ADMIN_PW = "Adm1n-Passw0rd!"
RESETTER_DN = f"CN=resetter,CN=Users,{DOMAIN_DN}"
RESETTER_PW = "Resetter-Passw0rd!"
INITIAL_PW = "Initial-Passw0rd!"
SERVER_NAME = "DC1.example.test"
PSO_CONTAINER = f"CN=Password Settings Container,CN=System,{DOMAIN_DN}"
RESET_PASSWORD = "00299570-246d-11d0-a768-00aa006e0529"  # control access right
LOCKOUT_TIME = "28630ebf-41d5-11d1-a9c1-0000f80367c1"
PWD_LAST_SET = "bf967a0a-0de6-11d0-a285-00aa003049e2"


@dataclass
class SambaDc:
    folder: Path
    process: subprocess.Popen

    tls: Issued

    @property
    def ca_file(self) -> Path:
        return self.tls.ca_file

    @cached_property
    def supports_policy_hints(self) -> bool:
        """Whether this DC lists LDAP_SERVER_POLICY_HINTS (Samba 4.17 and 4.22 don't)."""
        from opensspr.directory.ldap.active_directory import POLICY_HINTS_OID

        admin = self.admin()
        try:
            admin.search("", "(objectClass=*)", "BASE", attributes=["supportedControl"])
            return POLICY_HINTS_OID in admin.response[0]["attributes"]["supportedControl"]
        finally:
            admin.unbind()

    def admin(self) -> Connection:
        """Administrator over validated LDAPS: test set-up only."""
        import ssl

        tls = Tls(
            validate=ssl.CERT_REQUIRED, ca_certs_file=str(self.ca_file), valid_names=[SERVER_NAME]
        )
        server = Server(HOST, port=636, use_ssl=True, tls=tls)
        return Connection(server, ADMIN_DN, ADMIN_PW, auto_bind=True)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT isn't "in use"
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def missing_parts() -> list[str]:
    missing = [str(path) for path in (SAMBA, SAMBA_TOOL) if not path.exists()]
    if not PROVISION_DATA.is_dir():
        missing.append("samba-ad-provision")
    missing += [f"port {port} in use" for port in (389, 636) if not _port_free(port)]
    return missing


def _tool(folder: Path, *args: str) -> str:
    smb_conf = folder / "dc" / "etc" / "smb.conf"
    sam = folder / "dc" / "private" / "sam.ldb"
    command = [str(SAMBA_TOOL), *args, "-H", str(sam), "-s", str(smb_conf)]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def provision(folder: Path, tls: Issued) -> None:
    (folder / "empty.conf").write_text("")
    dc = folder / "dc"
    subprocess.run(
        [
            str(SAMBA_TOOL), "domain", "provision", f"--configfile={folder / 'empty.conf'}",
            f"--targetdir={dc}", "--realm=EXAMPLE.TEST", "--domain=EXAMPLE", "--server-role=dc",
            "--dns-backend=NONE", "--use-rfc2307", f"--adminpass={ADMIN_PW}", "--host-name=dc1",
            f"--host-ip={HOST}", f"--option=interfaces={HOST}", "--option=bind interfaces only=yes",
            "--option=server services=ldap", "--option=disable netbios=yes",
            f"--option=pid directory={dc / 'run'}", f"--option=log file={dc / 'log.%m'}",
            "--option=tls enabled=yes", f"--option=tls keyfile={tls.key_file}",
            f"--option=tls certfile={tls.cert_file}", f"--option=tls cafile={tls.ca_file}",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (dc / "run").mkdir(exist_ok=True)
    # The old password stops working at once (Samba's default keeps it 60 minutes for NTLM and
    # simple binds); provision drops this option, so it goes into smb.conf by hand.
    smb_conf = dc / "etc" / "smb.conf"
    text = smb_conf.read_text().replace(
        "[global]\n", "[global]\n\told password allowed period = 0\n", 1
    )
    smb_conf.write_text(text)
    _tool(
        folder, "domain", "passwordsettings", "set", "--account-lockout-threshold=3",
        "--min-pwd-age=0", "--history-length=3", "--min-pwd-length=8", "--complexity=on",
    )  # fmt: skip
    _tool(folder, "ou", "add", PEOPLE)
    _tool(folder, "user", "create", "resetter", RESETTER_PW)
    sid = _tool(folder, "user", "show", "resetter", "--attributes=objectSid").split("objectSid:")[1]
    sid = sid.split()[0]
    sddl = "".join(
        f"(OA;CI;{right};{guid};;{sid})"
        for right, guid in (("CR", RESET_PASSWORD), ("WP", LOCKOUT_TIME), ("WP", PWD_LAST_SET))
    )
    _tool(folder, "dsacl", "set", f"--objectdn={PEOPLE}", f"--sddl={sddl}")
    # Reading a user's fine-grained policy needs read access to the PSOs (admins only by default).
    _tool(folder, "dsacl", "set", f"--objectdn={PSO_CONTAINER}", f"--sddl=(A;CI;RPLCLORC;;;{sid})")


def start(folder: Path) -> SambaDc:
    # Our own CA and certificate (with the key identifiers Python 3.13's strict checks want),
    # rather than the one samba generates on first start.
    tls = issue(folder / "tls", SERVER_NAME)
    tls.key_file.chmod(0o600)  # samba refuses a key file others can read
    provision(folder, tls)
    smb_conf = folder / "dc" / "etc" / "smb.conf"
    log = (folder / "samba.out").open("wb")
    process = subprocess.Popen(
        [str(SAMBA), "-i", "-M", "single", "-s", str(smb_conf)], stdout=log, stderr=log
    )
    server = SambaDc(folder, process, tls)
    try:
        _wait_ready(server)
    except BaseException:
        stop(server)
        raise
    return server


def _wait_ready(server: SambaDc) -> None:
    wait_ready(
        server.process,
        server.folder / "samba.out",
        lambda: server.admin().unbind(),
        seconds=60,
        poll=0.2,
    )


def stop(server: SambaDc) -> None:
    stop_process(server.process, seconds=15)


def ad_connector_config(server: SambaDc, **overrides: object) -> LdapConfig:
    """The connector's settings: LDAPS, validated, as the delegated ``resetter``."""
    values: dict = {
        "host": HOST,
        "port": 636,
        "tls": TlsMode.LDAPS,
        "bind_dn": RESETTER_DN,
        "bind_password": RESETTER_PW,
        "user_base": PEOPLE,
        "ca_file": str(server.ca_file),
        "server_name": SERVER_NAME,
        "connect_timeout": 2.0,
        "operation_timeout": 5,
    }
    return ad_config(**(values | overrides))
