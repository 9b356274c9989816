"""Which forward proxy the agent tunnels through: its configuration, then the environment."""

import base64

import pytest

from opensspr_agent.client import Client, proxy_for
from opensspr_agent.config import ConfigError, load


def test_the_configured_proxy_wins_and_carries_its_credentials(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy:8080")
    host, port, headers = proxy_for("sspr.example.org", "http://agent:p%40ss@proxy.corp:3128")
    assert (host, port) == ("proxy.corp", 3128)
    assert headers == {"Proxy-Authorization": "Basic " + base64.b64encode(b"agent:p@ss").decode()}


def test_the_environment_is_used_unless_no_proxy_names_the_server(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy:8080")
    monkeypatch.setenv("NO_PROXY", "internal.example.org")
    assert proxy_for("sspr.example.org", None) == ("env-proxy", 8080, {})
    assert proxy_for("sspr.internal.example.org", None) is None


def test_no_proxy_at_all_connects_directly(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert proxy_for("sspr.example.org", None) is None
    assert Client("https://sspr.example.org", ca_file=None).proxy is None


def test_plain_http_to_loopback_never_goes_through_a_proxy(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy:8080")
    assert Client("http://127.0.0.1:8000", ca_file=None).proxy is None


def test_a_proxy_that_is_not_http_is_refused_in_the_configuration(tmp_path):
    (tmp_path / "pw").write_text("secret")
    (tmp_path / "agent.toml").write_text(
        '[server]\nurl = "https://sspr.example.org"\nproxy = "socks5://proxy:1080"\n'
        '[directory]\nurls = ["ldaps://dc1:636"]\nbind_password_file = "pw"\n'
    )
    with pytest.raises(ConfigError, match="proxy must be http://"):
        load(tmp_path / "agent.toml")
