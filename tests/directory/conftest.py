"""Real directory servers for the connector tests, started once per session.

Each server runs from a temporary folder on loopback, is stopped in
``finally`` and installs nothing. Missing binaries skip the tests, except under
CI=true where they fail (``require_component``).
"""

import fcntl
import itertools
from collections.abc import Callable, Iterator

import pytest

from opensspr.directory.ldap.active_directory import ActiveDirectory, encode_password
from opensspr.directory.ldap.openldap import OpenLdapDirectory
from tests.conftest import require_component
from tests.directory import samba, slapd
from tests.directory.proxy import TcpProxy
from tests.directory.slapd import openldap_config

_serial = itertools.count(1)
SAMBA_LOCK = "/tmp/opensspr-samba.lock"  # noqa: S108 - a machine-wide lock is the point


@pytest.fixture(scope="session")
def slapd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[slapd.Slapd]:
    require_component("slapd", slapd.SLAPD.exists() and slapd.SLAPADD.exists())
    server = slapd.start(tmp_path_factory.mktemp("slapd"))
    try:
        yield server
    finally:
        slapd.stop(server)


@pytest.fixture
def openldap(slapd_server: slapd.Slapd) -> Iterator[OpenLdapDirectory]:
    directory = OpenLdapDirectory(openldap_config(slapd_server))
    try:
        yield directory
    finally:
        directory.close()


@pytest.fixture
def ldap_user(slapd_server: slapd.Slapd) -> Callable[..., str]:
    """Add a fresh person (unique uid) under ou=people; returns the DN."""

    def make(
        password: str = "Initial-Pass-1",  # noqa: S107 - a throwaway test account
        *,
        policy: str | None = None,
        uid: str = "",
    ) -> str:
        uid = uid or f"user{next(_serial)}"
        dn = f"uid={uid},{slapd.PEOPLE}"
        attributes = {"cn": uid, "sn": uid, "uid": uid, "userPassword": password}
        if policy:
            attributes["pwdPolicySubentry"] = f"cn={policy},{slapd.POLICIES}"
        admin = slapd_server.admin()
        try:
            assert admin.add(dn, ["inetOrgPerson"], attributes), admin.result
        finally:
            admin.unbind()
        return dn

    return make


@pytest.fixture
def proxy_to() -> Iterator[Callable[[int], TcpProxy]]:
    proxies: list[TcpProxy] = []

    def make(port: int) -> TcpProxy:
        proxies.append(TcpProxy("127.0.0.1", port))
        return proxies[-1]

    try:
        yield make
    finally:
        for proxy in proxies:
            proxy.close()


@pytest.fixture(scope="session")
def samba_dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[samba.SambaDc]:
    missing = samba.missing_parts()
    require_component(f"a Samba AD DC ({', '.join(missing)})", not missing)
    # A Samba AD DC binds the fixed ports 389 and 636: one at a time on this machine (two
    # test runs, or a run and a developer's helper, wait for each other instead of failing).
    with open(SAMBA_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        server = samba.start(tmp_path_factory.mktemp("samba"))
        try:
            yield server
        finally:
            samba.stop(server)


@pytest.fixture
def active_directory(samba_dc: samba.SambaDc) -> Iterator[ActiveDirectory]:
    config = samba.ad_connector_config(samba_dc)
    directory = ActiveDirectory(config, policy_hints=samba_dc.supports_policy_hints)
    try:
        yield directory
    finally:
        directory.close()


@pytest.fixture
def ad_user(samba_dc: samba.SambaDc) -> Callable[..., str]:
    """Add a fresh enabled user under OU=People (or ``parent``); returns the DN."""

    def make(
        password: str = samba.INITIAL_PW,
        *,
        parent: str = samba.PEOPLE,
        mail: str | None = None,
    ) -> str:
        name = f"aduser{next(_serial)}"
        dn = f"CN={name},{parent}"
        attributes = {
            "sAMAccountName": name,
            "userPrincipalName": f"{name}@example.test",
            "unicodePwd": encode_password(password),
            "userAccountControl": 512,
        }
        if mail:
            attributes["mail"] = mail
        admin = samba_dc.admin()
        try:
            classes = ["top", "person", "organizationalPerson", "user"]
            assert admin.add(dn, classes, attributes), admin.result
        finally:
            admin.unbind()
        return dn

    return make
