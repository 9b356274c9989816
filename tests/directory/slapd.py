"""A private slapd with ppolicy and TLS, in a temporary folder, on free loopback ports.

Built from infrastructure-recipes.md §1 (config in cn=config by slapadd, a
non-root service account ``cn=resetter`` because the rootdn bypasses ppolicy),
plus TLS: an ldap:// listener for StartTLS and an ldaps:// one, both with a
certificate for ``ldap.test`` issued by a throwaway CA.
"""

import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ldap3 import Connection, Server

from opensspr.directory.ldap.config import LdapConfig, TlsMode
from tests.directory.certs import Issued, issue
from tests.directory.processes import stop_process, wait_ready

SLAPD = Path("/usr/sbin/slapd")
SLAPADD = Path("/usr/sbin/slapadd")
SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PW = "adminpw"
RESETTER_DN = f"cn=resetter,{SUFFIX}"
RESETTER_PW = "resetterpw"
PEOPLE = f"ou=people,{SUFFIX}"
POLICIES = f"ou=policies,{SUFFIX}"
SERVER_NAME = "ldap.test"

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
olcRootPW: adminpw

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: dc=example,dc=org
olcRootDN: cn=admin,dc=example,dc=org
olcRootPW: adminpw
olcDbDirectory: @D@/db
olcDbMaxSize: 1073741824
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: mail eq
olcAccess: {0}to attrs=userPassword by dn.exact="cn=resetter,dc=example,dc=org" write by self write by anonymous auth by * none
olcAccess: {1}to attrs=pwdAccountLockedTime,pwdReset by dn.exact="cn=resetter,dc=example,dc=org" write by self read by * none
olcAccess: {2}to * by dn.exact="cn=resetter,dc=example,dc=org" write by self read by users read by * none

dn: olcOverlay={0}ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {0}ppolicy
olcPPolicyDefault: cn=default,ou=policies,dc=example,dc=org
olcPPolicyHashCleartext: TRUE
olcPPolicyUseLockout: TRUE
"""


def _policy(name: str, **extra: str) -> str:
    values = {
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
    } | extra
    lines = [
        f"dn: cn={name},{POLICIES}",
        "objectClass: organizationalRole",
        "objectClass: pwdPolicy",
    ]
    lines += [f"cn: {name}"] + [f"{key}: {value}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


BASE = "\n".join(
    [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: {POLICIES}\nobjectClass: organizationalUnit\nou: policies\n",
        _policy("default"),
        _policy("aged", pwdMinAge="3600", pwdMaxAge="86400"),
        _policy("nochange", pwdAllowUserChange="FALSE"),
        _policy("mustchange", pwdMustChange="TRUE"),
        f"dn: {RESETTER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: resetter\nuserPassword: {RESETTER_PW}\n",
    ]
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Slapd:
    folder: Path
    ldap_port: int
    ldaps_port: int
    tls: Issued
    process: subprocess.Popen

    def admin(self) -> Connection:
        """The rootdn over loopback plain LDAP: test set-up only (it bypasses ppolicy)."""
        return Connection(
            Server(f"ldap://127.0.0.1:{self.ldap_port}"), ADMIN_DN, ADMIN_PW, auto_bind=True
        )


def start(folder: Path) -> Slapd:
    tls = issue(folder / "tls", SERVER_NAME)
    (folder / "slapd.d").mkdir()
    (folder / "db").mkdir()
    config = (
        CONFIG.replace("@D@", str(folder))
        .replace("@CA@", str(tls.ca_file))
        .replace("@CERT@", str(tls.cert_file))
        .replace("@KEY@", str(tls.key_file))
    )
    (folder / "config.ldif").write_text(config)
    (folder / "base.ldif").write_text(BASE)
    for number, ldif in (("0", "config.ldif"), ("1", "base.ldif")):
        subprocess.run(
            [SLAPADD, "-q", "-n", number, "-F", folder / "slapd.d", "-l", folder / ldif],
            check=True,
            capture_output=True,
        )
    ldap_port, ldaps_port = free_port(), free_port()
    urls = f"ldap://127.0.0.1:{ldap_port}/ ldaps://127.0.0.1:{ldaps_port}/"
    log = (folder / "slapd.log").open("wb")
    # -d 0 keeps slapd in the foreground, so the Popen's pid is slapd's own.
    process = subprocess.Popen(
        [SLAPD, "-d", "0", "-h", urls, "-F", folder / "slapd.d"], stdout=log, stderr=log
    )
    server = Slapd(folder, ldap_port, ldaps_port, tls, process)
    try:
        _wait_ready(server)
    except BaseException:
        stop(server)
        raise
    return server


def _wait_ready(server: Slapd) -> None:
    wait_ready(
        server.process,
        server.folder / "slapd.log",
        lambda: server.admin().unbind(),
        seconds=15,
        poll=0.05,
    )


def stop(server: Slapd) -> None:
    stop_process(server.process, seconds=10)


def openldap_config(server: Slapd, **overrides: object) -> LdapConfig:
    values: dict = {
        "host": "127.0.0.1",
        "port": server.ldap_port,
        "tls": TlsMode.STARTTLS,
        "bind_dn": RESETTER_DN,
        "bind_password": RESETTER_PW,
        "user_base": PEOPLE,
        "ca_file": str(server.tls.ca_file),
        "server_name": SERVER_NAME,
        "default_policy_dn": f"cn=default,{POLICIES}",
        "connect_timeout": 2.0,
        "operation_timeout": 2,
    }
    return LdapConfig(**(values | overrides))
