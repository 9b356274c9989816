"""The tests' private slapd: the product's launcher (``opensspr.demo.slapd``) with the tests' tree.

The tree is ``dc=example,dc=org`` with a non-root service account
``cn=resetter`` and four policies: ``default`` (lockout after 3, history 3,
length 8), ``aged`` (minimum age one hour, maximum a day), ``nochange`` (no
self-service change) and ``mustchange`` (pwdMustChange).
"""

from pathlib import Path

from opensspr.demo.slapd import SLAPADD, SLAPD, Slapd, Tree, free_port, policy_entry, stop
from opensspr.demo.slapd import start as start_tree
from opensspr.directory.ldap.config import LdapConfig, TlsMode

__all__ = ["SLAPADD", "SLAPD", "Slapd", "free_port", "openldap_config", "start", "stop"]

SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PW = "adminpw"
RESETTER_DN = f"cn=resetter,{SUFFIX}"
RESETTER_PW = "resetterpw"
PEOPLE = f"ou=people,{SUFFIX}"
POLICIES = f"ou=policies,{SUFFIX}"
SERVER_NAME = "ldap.test"

BASE = "\n".join(
    [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: {POLICIES}\nobjectClass: organizationalUnit\nou: policies\n",
        policy_entry(f"cn=default,{POLICIES}"),
        policy_entry(f"cn=aged,{POLICIES}", pwdMinAge="3600", pwdMaxAge="86400"),
        policy_entry(f"cn=nochange,{POLICIES}", pwdAllowUserChange="FALSE"),
        policy_entry(f"cn=mustchange,{POLICIES}", pwdMustChange="TRUE"),
        f"dn: {RESETTER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: resetter\nuserPassword: {RESETTER_PW}\n",
    ]
)
TREE = Tree(
    suffix=SUFFIX,
    service_dn=RESETTER_DN,
    service_password=RESETTER_PW,
    entries=BASE,
    server_name=SERVER_NAME,
)


def start(folder: Path) -> Slapd:
    return start_tree(folder, TREE)


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
