"""A private slapd with ppolicy and TLS, in a folder of its own, on free loopback ports.

The one launcher for every throwaway OpenLDAP the project starts: the demo's
(``opensspr demo --directory openldap``), the tests' (``tests/directory/slapd.py``)
and the benches'. Built from infrastructure-recipes.md §1: cn=config and the
base entries loaded offline by ``slapadd``, the ppolicy overlay with a default
policy, and a service account that is *not* the rootdn (the rootdn bypasses
ppolicy, so a reset by it would skip length, history and age). slapd listens on
an ``ldap://`` port for StartTLS and an ``ldaps://`` one, with a certificate
from a CA made for this instance only.

Nothing here is installed system-wide and nothing listens beyond 127.0.0.1;
``stop`` ends the process (the caller removes the folder). No Django imports.
"""

import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ldap3 import Connection, Server

from opensspr.demo.certs import Issued, issue
from opensspr.demo.processes import stop_process, wait_ready

SLAPD = Path("/usr/sbin/slapd")
SLAPADD = Path("/usr/sbin/slapadd")
DEBIAN_PACKAGES = ("slapd", "ldap-utils")  # ldap-utils: ldapsearch and ldapwhoami
ADMIN_PW = "adminpw"  # the rootdn's and cn=config's: loopback set-up only

CONFIG = """\
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: @D@/slapd.pid
olcArgsFile: @D@/slapd.args
olcLogLevel: none
olcTLSCACertificateFile: @CA@
olcTLSCertificateFile: @CERT@
olcTLSCertificateKeyFile: @KEY@

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: ppolicy

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcPasswordHash: {SSHA}

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcRootDN: cn=admin,cn=config
olcRootPW: @ADMINPW@

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: @SUFFIX@
olcRootDN: cn=admin,@SUFFIX@
olcRootPW: @ADMINPW@
olcDbDirectory: @D@/db
olcDbMaxSize: 1073741824
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: mail eq
olcAccess: {0}to attrs=userPassword by dn.exact="@SERVICE@" write
  by self write by anonymous auth by * none
olcAccess: {1}to attrs=pwdAccountLockedTime,pwdReset by dn.exact="@SERVICE@" write
  by self read by * none
olcAccess: {2}to * by dn.exact="@SERVICE@" @RIGHTS@ by self read by users read by * none

dn: olcOverlay={0}ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {0}ppolicy
olcPPolicyDefault: cn=default,ou=policies,@SUFFIX@
olcPPolicyHashCleartext: TRUE
olcPPolicyUseLockout: TRUE
"""


@dataclass(frozen=True)
class Tree:
    """What one instance serves: its suffix, service account, certificate and base entries.

    ``service_rights`` is the service account's access to everything except
    passwords and lock state, which it may always write (the writeback rights):
    ``"read"`` is what sync and writeback need; the tests' tree grants
    ``"write"`` so set-up code can use it too.
    """

    suffix: str
    service_dn: str
    service_password: str
    entries: str  # LDIF under the suffix, ou=policies and its cn=default included
    server_name: str = "ldap.test"
    certificate_ips: tuple[str, ...] = ()  # e.g. ("127.0.0.1",) so ldapsearch -H ...127.0.0.1 works
    service_rights: str = "write"

    @property
    def admin_dn(self) -> str:
        return f"cn=admin,{self.suffix}"

    @property
    def default_policy_dn(self) -> str:
        return f"cn=default,ou=policies,{self.suffix}"


def policy_entry(dn: str, **values: str) -> str:
    """An LDIF ``pwdPolicy`` entry: lockout on, length 8, history 3, overridable by keyword."""
    attributes = {
        "pwdAttribute": "userPassword",
        "pwdLockout": "TRUE",
        "pwdMaxFailure": "3",
        "pwdLockoutDuration": "0",
        "pwdFailureCountInterval": "0",
        "pwdInHistory": "3",
        "pwdMinLength": "8",
        "pwdCheckQuality": "2",
        "pwdAllowUserChange": "TRUE",
        "pwdMustChange": "FALSE",
        "pwdSafeModify": "FALSE",
    } | values
    name = dn.split(",", 1)[0].split("=", 1)[1]
    lines = [
        f"dn: {dn}",
        "objectClass: organizationalRole",
        "objectClass: pwdPolicy",
        f"cn: {name}",
    ]
    return "\n".join(lines + [f"{key}: {value}" for key, value in attributes.items()]) + "\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def missing_packages() -> tuple[str, ...]:
    """The Debian packages to install before a private slapd can start (none: ready)."""
    return () if SLAPD.exists() and SLAPADD.exists() else DEBIAN_PACKAGES


@dataclass
class Slapd:
    folder: Path
    ldap_port: int
    ldaps_port: int
    tls: Issued
    process: subprocess.Popen[bytes]
    tree: Tree

    def admin(self) -> Connection:
        """The rootdn over loopback plain LDAP: set-up only (it bypasses ppolicy)."""
        return Connection(
            Server(f"ldap://127.0.0.1:{self.ldap_port}"),
            self.tree.admin_dn,
            ADMIN_PW,
            auto_bind=True,
        )


def config_ldif(folder: Path, tree: Tree, tls: Issued) -> str:
    """The cn=config LDIF for an instance living in ``folder``."""
    values = {
        "@D@": str(folder),
        "@CA@": str(tls.ca_file),
        "@CERT@": str(tls.cert_file),
        "@KEY@": str(tls.key_file),
        "@SUFFIX@": tree.suffix,
        "@SERVICE@": tree.service_dn,
        "@RIGHTS@": tree.service_rights,
        "@ADMINPW@": ADMIN_PW,
    }
    text = CONFIG
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def slapadd(folder: Path, database: int, ldif: str, *flags: str) -> None:
    """Load ``ldif`` offline into database 0 (cn=config) or 1 (the tree)."""
    name = f"load-{database}.ldif"
    (folder / name).write_text(ldif)
    subprocess.run(  # noqa: S603 - a fixed binary and our own files
        [SLAPADD, "-q", *flags, "-n", str(database), "-F", folder / "slapd.d", "-l", folder / name],
        check=True,
        capture_output=True,
    )


def prepare(folder: Path, tree: Tree, *, edit_config: Callable[[str], str] = str) -> Issued:
    """Certificates, cn=config and the base entries, written into an empty ``folder``."""
    tls = issue(folder / "tls", tree.server_name, ip_addresses=tree.certificate_ips)
    (folder / "slapd.d").mkdir()
    (folder / "db").mkdir()
    slapadd(folder, 0, edit_config(config_ldif(folder, tree, tls)))
    return tls


def launch(folder: Path, tree: Tree, tls: Issued) -> Slapd:
    """Start slapd on two free loopback ports and wait until the rootdn can bind."""
    ldap_port, ldaps_port = free_port(), free_port()
    urls = f"ldap://127.0.0.1:{ldap_port}/ ldaps://127.0.0.1:{ldaps_port}/"
    with (folder / "slapd.log").open("wb") as log:
        # -d 0 keeps slapd in the foreground, so the Popen's pid is slapd's own.
        process = subprocess.Popen(  # noqa: S603 - a fixed binary and our own folder
            [SLAPD, "-d", "0", "-h", urls, "-F", folder / "slapd.d"], stdout=log, stderr=log
        )
    server = Slapd(folder, ldap_port, ldaps_port, tls, process, tree)
    try:
        wait_ready(
            process, folder / "slapd.log", lambda: server.admin().unbind(), seconds=15, poll=0.05
        )
    except BaseException:
        stop(server)
        raise
    return server


def start(folder: Path, tree: Tree) -> Slapd:
    """A ready instance serving ``tree`` from ``folder`` (created if missing, must be empty)."""
    folder.mkdir(parents=True, exist_ok=True)
    tls = prepare(folder, tree)
    slapadd(folder, 1, tree.entries)
    return launch(folder, tree, tls)


def stop(server: Slapd) -> None:
    stop_process(server.process, seconds=10)
