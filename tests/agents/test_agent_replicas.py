"""Security bar F5 through the agent: a write and the reads that settle it meet one server.

The agent knows two servers of the directory: the first (through a proxy the
test controls) takes the write, the second is a replica that never receives it,
a lag without end. A lost answer leaves the write pending; when the first
server is then down and the replica answers, its old marker must not settle the
write as lost. Real processes throughout: ``opensspr serve``, the agent, two slapd.
"""

import threading
from pathlib import Path

import pytest

from opensspr.directory.ldap.openldap import OpenLdapDirectory
from tests.agents.conftest import Agents, Site, wait_for
from tests.agents.test_agent_process import OLD, _person
from tests.directory import slapd
from tests.directory.proxy import TcpProxy

pytestmark = pytest.mark.skipif(
    not slapd.SLAPD.exists(), reason="slapd is not installed (./dev test installs it)"
)
#: The reconciler's grace (``writeback.GRACE``, two minutes) and a second.
PAST_GRACE = 121


def _held_writes(flags: Path) -> str:
    """Agent prelude: a password write waits until the test has muted the first server, so
    the write lands there and its answer is lost (nothing else about it changes)."""
    return f"""
import pathlib, time
from opensspr.directory.ldap.openldap import OpenLdapDirectory
_flags = pathlib.Path({str(flags)!r})
_write = OpenLdapDirectory.set_password
def _held(self, *args, **kwargs):
    (_flags / "writing").touch()
    deadline = time.monotonic() + 20
    while not (_flags / "muted").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return _write(self, *args, **kwargs)
OpenLdapDirectory.set_password = _held
"""


def _two_servers(agents: Agents, proxy: TcpProxy, replica: slapd.Slapd, folder: Path) -> str:
    both = folder / "both-ca.pem"
    both.write_text(agents.server.tls.ca_file.read_text() + replica.tls.ca_file.read_text())
    return f"""
[directory]
kind = "openldap"
urls = ["ldap://127.0.0.1:{proxy.port}", "ldap://127.0.0.1:{replica.ldap_port}"]
tls = "starttls"
ca_file = "{both}"
server_name = "{slapd.SERVER_NAME}"
bind_dn = "{slapd.RESETTER_DN}"
bind_password_file = "bind-password"
base_dn = "{slapd.SUFFIX}"
default_policy_dn = "cn=default,{slapd.POLICIES}"
operation_timeout = 2
connect_timeout = 2
"""


def test_a_lagging_replica_never_settles_a_write_made_through_the_agent(
    site: Site, agents: Agents, directory_server, proxy, *, lagging_replica, tmp_path
):
    user_id, dn = _person(site, directory_server)
    admin = lagging_replica.admin()
    try:
        uid = dn.split(",")[0].removeprefix("uid=")
        attributes = {"cn": uid, "sn": uid, "uid": uid, "userPassword": OLD}
        assert admin.add(dn, ["inetOrgPerson"], attributes), admin.result
    finally:
        admin.unbind()
    flags = tmp_path / "flags"
    flags.mkdir()
    agents.enrol("north", directory=_two_servers(agents, proxy, lagging_replica, tmp_path))
    agents.start("north", prelude=_held_writes(flags))
    wait_for(lambda: site.do("agents")["status"] == "running", seconds=60)

    answer: dict = {}

    def issue_temporary_password() -> None:  # waits for the agent, so beside the test
        answer.update(site.do("temporary", user_id=user_id))

    admin_acts = threading.Thread(target=issue_temporary_password)
    admin_acts.start()
    wait_for((flags / "writing").exists, seconds=60, every=0.01)
    proxy.set_mode("mute")  # the first server applies the write; its answer never comes
    (flags / "muted").touch()
    admin_acts.join(timeout=90)

    assert answer.get("error") == "directory_unavailable", answer  # one clear answer: not yet known
    pinned = f"127.0.0.1:{proxy.port}"
    assert site.do("writes", user_id=user_id)["intents"] == [["pending", pinned]]

    proxy.set_mode("refuse")  # the first server goes down; the replica still answers
    assert site.do("reconcile", later=PAST_GRACE)["settled"] == 0  # its old marker decides nothing
    assert site.do("writes", user_id=user_id)["intents"] == [["pending", pinned]]
    replica = OpenLdapDirectory(slapd.openldap_config(lagging_replica))
    try:
        assert replica.verify_password(dn, OLD) is True  # it lags, truly

        proxy.set_mode("pass")  # the first server is back: it has the write
        assert site.do("reconcile", later=PAST_GRACE)["settled"] == 1
        assert site.do("writes", user_id=user_id)["intents"] == [["applied", pinned]]
        assert replica.verify_password(dn, OLD) is True  # never written there
    finally:
        replica.close()
    direct = OpenLdapDirectory(slapd.openldap_config(directory_server))
    try:
        assert direct.verify_password(dn, OLD) is False  # the first server took the write
    finally:
        direct.close()
