"""Connectors, people and proxies for the directory tests.

The servers themselves (``slapd_server``, ``samba_dc``) are session fixtures of
``tests.directory.servers``, loaded for the whole suite by ``tests/conftest.py``
so the directory and agent tests share one of each.
"""

import itertools
from collections.abc import Callable, Iterator

import pytest

from opensspr.directory.ldap.active_directory import ActiveDirectory, encode_password
from opensspr.directory.ldap.openldap import OpenLdapDirectory
from tests.directory import samba, slapd
from tests.directory.proxy import TcpProxy
from tests.directory.slapd import openldap_config

_serial = itertools.count(1)


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
