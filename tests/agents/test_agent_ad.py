"""The real agent against a real Samba AD DC: sign-in, reset, change with AD's own history
refusal, a protected account, unlock and the temporary password, all through the agent."""

import itertools

import pytest
from ldap3 import MODIFY_REPLACE

from opensspr.directory.ldap.active_directory import ActiveDirectory, encode_password
from tests.agents.conftest import Agents, Site
from tests.agents.test_agent_process import _status
from tests.directory import samba

NEW = "Lantern-Harbour-Quiet-93"
_serial = itertools.count(1)


@pytest.fixture
def ad_site(site: Site, samba_dc: samba.SambaDc) -> Site:
    site.do(
        "scope",
        kind="active_directory",
        base_dn=samba.DOMAIN_DN,
        user_id_attribute="sAMAccountName",
        user_filter="(&(objectCategory=person)(objectClass=user))",
    )
    return site


@pytest.fixture
def ad_agent(ad_site: Site, agents: Agents, samba_dc: samba.SambaDc) -> Agents:
    home = agents.folder / "dc"
    home.mkdir(exist_ok=True)
    (home / "ad-password").write_text(samba.RESETTER_PW)
    agents.config(
        "dc",
        directory=f"""
[directory]
kind = "active_directory"
urls = ["ldaps://{samba.HOST}:636"]
tls = "ldaps"
ca_file = "{samba_dc.ca_file}"
server_name = "{samba.SERVER_NAME}"
bind_dn = "{samba.RESETTER_DN}"
bind_password_file = "ad-password"
base_dn = "{samba.DOMAIN_DN}"
user_id_attribute = "sAMAccountName"
user_filter = "(&(objectCategory=person)(objectClass=user))"
policy_hints = {"true" if samba_dc.supports_policy_hints else "false"}
operation_timeout = 3
connect_timeout = 3
""",
    )
    token = ad_site.do("token", name="dc")["token"]
    agents.enrol_with(home / "agent.toml", token)
    agents.start("dc")
    _status(ad_site, "running")
    return agents


@pytest.fixture
def direct(samba_dc: samba.SambaDc):
    directory = ActiveDirectory(
        samba.ad_connector_config(samba_dc), policy_hints=samba_dc.supports_policy_hints
    )
    try:
        yield directory
    finally:
        directory.close()


def _person(site: Site, server: samba.SambaDc) -> tuple[str, str]:
    name = f"agentad{next(_serial)}"
    dn = f"CN={name},{samba.PEOPLE}"
    admin = server.admin()
    try:
        assert admin.add(
            dn,
            ["top", "person", "organizationalPerson", "user"],
            {
                "sAMAccountName": name,
                "userPrincipalName": f"{name}@example.test",
                "unicodePwd": encode_password(samba.INITIAL_PW),
                "userAccountControl": 512,
            },
        ), admin.result
    finally:
        admin.unbind()
    user_id = f"{name}@example.test"
    site.do("person", user_id=user_id, dn=dn, email=f"{name}@mail.example")
    return user_id, dn


def test_active_directory_through_the_agent(ad_site, ad_agent, samba_dc, direct):
    user_id, dn = _person(ad_site, samba_dc)
    assert ad_site.do("signin", user_id=user_id, password=samba.INITIAL_PW)["outcomes"] == [
        "success"
    ]
    assert ad_site.do("flow", user_id=user_id, new=NEW) == {"state": "done"}
    assert direct.verify_password(dn, NEW) is True

    third = "Quiet-Meadow-Lantern-58"
    assert ad_site.do("change", user_id=user_id, old=NEW, new=third)["outcome"] == "changed"
    back = ad_site.do("change", user_id=user_id, old=third, new=NEW)
    assert back["outcome"] == "directory_rejected"  # AD's own history, through the agent
    assert back["directory"].startswith("password_")
    assert direct.verify_password(dn, third) is True

    temporary = ad_site.do("temporary", user_id=user_id)
    assert temporary["intents"][-1] == "applied"
    assert direct.account_state(dn).must_change is True
    assert ad_site.do("signin", user_id=user_id, password=temporary["password"])["outcomes"] == [
        "change_required"
    ]


def test_a_protected_account_is_refused_through_the_agent(ad_site, ad_agent, samba_dc):
    user_id, dn = _person(ad_site, samba_dc)
    admin = samba_dc.admin()
    try:
        admin.modify(dn, {"adminCount": [(MODIFY_REPLACE, ["1"])]})
        assert ad_site.do("temporary", user_id=user_id) == {"error": "protected_account"}
    finally:  # the domain controller lives for the session
        admin.modify(dn, {"adminCount": [(MODIFY_REPLACE, ["0"])]})
        admin.unbind()


def test_unlock_only_through_the_agent_keeps_the_password(ad_site, ad_agent, samba_dc, direct):
    user_id, dn = _person(ad_site, samba_dc)
    admin = samba_dc.admin()
    try:
        admin.modify(dn, {"lockoutTime": [(MODIFY_REPLACE, ["1"])]})
    finally:
        admin.unbind()
    assert ad_site.do("flow", user_id=user_id, operation="unlock") == {"state": "done"}
    assert _lockout_time(samba_dc, dn) == "0"  # the agent wrote lockoutTime=0
    assert direct.account_state(dn).locked is False
    assert direct.verify_password(dn, samba.INITIAL_PW) is True


def _lockout_time(server: samba.SambaDc, dn: str) -> str:
    admin = server.admin()
    try:
        admin.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["lockoutTime"])
        return admin.response[0]["raw_attributes"]["lockoutTime"][0].decode()
    finally:
        admin.unbind()
