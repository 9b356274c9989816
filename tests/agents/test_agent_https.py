"""The agent over real HTTPS, through a corporate forward proxy, as many sites will run it.

``opensspr serve`` serves HTTPS itself with a certificate from a CA of the
test's own; the agent trusts only that CA and reaches the server through a
CONNECT proxy that wants credentials. A reset crosses it all, and an agent that
doesn't trust the CA never gets a byte through.
"""

import base64

import pytest

from opensspr.directory.ldap.openldap import OpenLdapDirectory
from tests.agents.conftest import Agents, Site, wait_for
from tests.agents.connect_proxy import ConnectProxy
from tests.agents.test_agent_process import NEW, OLD, _person, _status
from tests.directory import slapd

pytestmark = pytest.mark.skipif(
    not slapd.SLAPD.exists(), reason="slapd is not installed (./dev test installs it)"
)


@pytest.fixture
def corporate_proxy():
    made = ConnectProxy(credentials="Basic " + base64.b64encode(b"agent:Proxy-Pass-7").decode())
    try:
        yield made
    finally:
        made.close()


def _server(site: Site, proxy: ConnectProxy, *, trust: bool = True) -> str:
    lines = ["[server]", f'url = "{site.url}"']
    if trust:
        assert site.tls is not None
        lines.append(f'ca_file = "{site.tls.ca_file}"')
    lines.append(f'proxy = "http://agent:Proxy-Pass-7@127.0.0.1:{proxy.port}"')
    return "\n".join(lines)


def test_a_reset_crosses_https_and_a_forward_proxy(
    tls_site, directory_server, corporate_proxy, tmp_path
):
    agents = Agents(tls_site, directory_server, tmp_path / "agents")
    (tmp_path / "agents").mkdir()
    try:
        path = agents.config("south", server=_server(tls_site, corporate_proxy))
        agents.enrol_with(path, tls_site.do("token", name="south")["token"])
        agents.start("south")
        # Enrolment, then the running agent's heartbeat and its workers' long polls: tunnels.
        wait_for(lambda: len(corporate_proxy.tunnels) >= 3 or None)
        _status(tls_site, "running")
        user_id, dn = _person(tls_site, directory_server)
        assert tls_site.do("flow", user_id=user_id, new=NEW) == {"state": "done"}
    finally:
        agents.stop_all()
    direct = OpenLdapDirectory(slapd.openldap_config(directory_server))
    try:
        assert direct.verify_password(dn, NEW) is True
        assert direct.verify_password(dn, OLD) is False
    finally:
        direct.close()
    port = tls_site.url.rsplit(":", 1)[1]
    # Every connection went through the proxy, to the server's name, with the credentials.
    assert {target for target, _auth in corporate_proxy.tunnels} == {f"localhost:{port}"}
    assert all(auth == corporate_proxy.credentials for _target, auth in corporate_proxy.tunnels)
    assert "Proxy-Pass-7" not in agents.log("south")


def test_an_agent_that_does_not_trust_the_certificate_gets_nothing_through(
    tls_site, directory_server, corporate_proxy, tmp_path
):
    agents = Agents(tls_site, directory_server, tmp_path / "agents")
    (tmp_path / "agents").mkdir()
    path = agents.config("west", server=_server(tls_site, corporate_proxy, trust=False))
    done = agents.run_enrol(path, tls_site.do("token", name="west")["token"])
    assert done.returncode != 0
    assert done.stderr.startswith("can't reach the server: SSLCertVerificationError: ")
    assert "certificate verify failed" in done.stderr
    assert tls_site.do("agents")["agents"] == {}  # the token was never presented


def test_a_proxy_that_refuses_the_credentials_is_named(tls_site, directory_server, tmp_path):
    strict = ConnectProxy(credentials="Basic " + base64.b64encode(b"someone:else").decode())
    try:
        agents = Agents(tls_site, directory_server, tmp_path / "agents")
        (tmp_path / "agents").mkdir()
        path = agents.config("east", server=_server(tls_site, strict))
        done = agents.run_enrol(path, tls_site.do("token", name="east")["token"])
    finally:
        strict.close()
    assert done.returncode != 0 and strict.refused == 1
    assert "can't reach the server: OSError: Tunnel connection failed: 407" in done.stderr
