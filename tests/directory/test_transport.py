"""TLS is validated and never skipped; a down or slow directory gives a typed, bounded error.

The TCP proxy sits between the connector and slapd: ``refuse`` is a directory
that went down, ``stall`` one that hangs (requests are swallowed, so a write
sent during the stall never arrives and nothing is half done).
"""

from collections.abc import Callable

import pytest

from opensspr.demo.certs import make_ca
from opensspr.directory.errors import DirectoryCode, DirectoryUnavailableError
from opensspr.directory.ldap.config import TlsMode
from opensspr.directory.ldap.openldap import OpenLdapDirectory
from tests.directory import slapd
from tests.directory.proxy import TcpProxy
from tests.directory.slapd import openldap_config

MakeUser = Callable[..., str]
MakeProxy = Callable[[int], TcpProxy]
OLD = "Initial-Pass-1"


def _directory(server: slapd.Slapd, **overrides: object) -> OpenLdapDirectory:
    return OpenLdapDirectory(openldap_config(server, **overrides))


def test_ldaps_with_a_validated_certificate_works(
    slapd_server: slapd.Slapd, ldap_user: MakeUser
) -> None:
    dn = ldap_user(uid="over-ldaps")
    directory = _directory(slapd_server, tls=TlsMode.LDAPS, port=slapd_server.ldaps_port)
    try:
        assert directory.find_user("over-ldaps").dn == dn
        assert directory.verify_password(dn, OLD) is True
    finally:
        directory.close()


@pytest.mark.parametrize("mode", [TlsMode.STARTTLS, TlsMode.LDAPS])
def test_an_unknown_ca_is_refused(slapd_server: slapd.Slapd, tmp_path, mode: TlsMode) -> None:
    _, _, other_ca = make_ca(tmp_path, "other")
    port = slapd_server.ldap_port if mode is TlsMode.STARTTLS else slapd_server.ldaps_port
    directory = _directory(slapd_server, tls=mode, port=port, ca_file=str(other_ca))
    with pytest.raises(DirectoryUnavailableError) as refused:
        directory.find_user("anyone")
    assert refused.value.code == DirectoryCode.TLS_FAILURE


@pytest.mark.parametrize("mode", [TlsMode.STARTTLS, TlsMode.LDAPS])
def test_a_certificate_for_another_name_is_refused(
    slapd_server: slapd.Slapd, mode: TlsMode
) -> None:
    port = slapd_server.ldap_port if mode is TlsMode.STARTTLS else slapd_server.ldaps_port
    directory = _directory(slapd_server, tls=mode, port=port, server_name="other.test")
    with pytest.raises(DirectoryUnavailableError) as refused:
        directory.find_user("anyone")
    assert refused.value.code == DirectoryCode.TLS_FAILURE


def test_the_system_trust_store_does_not_trust_a_private_ca(slapd_server: slapd.Slapd) -> None:
    directory = _directory(slapd_server, ca_file=None)
    with pytest.raises(DirectoryUnavailableError) as refused:
        directory.find_user("anyone")
    assert refused.value.code == DirectoryCode.TLS_FAILURE


def test_no_bind_crosses_the_wire_in_clear_when_tls_fails(
    slapd_server: slapd.Slapd, proxy_to: MakeProxy, tmp_path
) -> None:
    """F6: StartTLS that fails validation ends the session; the bind is never sent."""
    proxy = proxy_to(slapd_server.ldap_port)
    _, _, other_ca = make_ca(tmp_path, "other")
    directory = _directory(slapd_server, port=proxy.port, ca_file=str(other_ca))
    with pytest.raises(DirectoryUnavailableError):
        directory.find_user("anyone")
    assert slapd.RESETTER_PW.encode() not in proxy.client_bytes
    assert slapd.RESETTER_DN.encode() not in proxy.client_bytes
    assert proxy.client_bytes  # the StartTLS request itself did go out


def test_nothing_listening_is_unavailable(slapd_server: slapd.Slapd) -> None:
    directory = _directory(slapd_server, port=slapd.free_port())
    with pytest.raises(DirectoryUnavailableError) as down:
        directory.find_user("anyone")
    assert down.value.code == DirectoryCode.UNAVAILABLE


def test_directory_down_then_back_needs_no_restart(
    slapd_server: slapd.Slapd, proxy_to: MakeProxy, ldap_user: MakeUser
) -> None:
    """F1: a cut gives a typed error; the pool drops the dead session and reconnects."""
    dn = ldap_user(uid="down-and-up")
    proxy = proxy_to(slapd_server.ldap_port)
    directory = _directory(slapd_server, port=proxy.port)
    try:
        assert directory.find_user("down-and-up").dn == dn  # a pooled session exists now
        proxy.set_mode("refuse")
        with pytest.raises(DirectoryUnavailableError):
            directory.set_password(dn, "Never-Written-7", unlock=True)
        with pytest.raises(DirectoryUnavailableError):
            directory.find_user("down-and-up")
        proxy.set_mode("pass")
        assert directory.find_user("down-and-up").dn == dn
        assert directory.verify_password(dn, OLD) is True
    finally:
        directory.close()


@pytest.mark.parametrize(
    "operation", ["reset", "change", "unlock", "lookup", "verify", "state", "policy"]
)
def test_a_hung_directory_times_out_with_nothing_half_done(
    slapd_server: slapd.Slapd, proxy_to: MakeProxy, ldap_user: MakeUser, operation: str
) -> None:
    """F2: the receive timeout bounds every step; the stalled write never reached slapd."""
    dn = ldap_user()
    proxy = proxy_to(slapd_server.ldap_port)
    directory = _directory(slapd_server, port=proxy.port, operation_timeout=1)
    try:
        directory.find_user(dn.split(",")[0].removeprefix("uid="))  # warm the pool
        proxy.set_mode("stall")
        with pytest.raises(DirectoryUnavailableError) as slow:
            _run(directory, operation, dn)
        assert slow.value.code == DirectoryCode.UNAVAILABLE
    finally:
        directory.close()
        proxy.set_mode("refuse")
    direct = _directory(slapd_server)
    try:
        assert direct.verify_password(dn, OLD) is True
    finally:
        direct.close()


def _run(directory: OpenLdapDirectory, operation: str, dn: str) -> None:
    if operation == "reset":
        directory.set_password(dn, "Never-Written-7", unlock=True)
    elif operation == "change":
        directory.change_password(dn, OLD, "Never-Written-7")
    elif operation == "unlock":
        directory.unlock(dn)
    elif operation == "verify":
        directory.verify_password(dn, OLD)
    elif operation == "state":
        directory.account_state(dn)
    elif operation == "policy":
        directory.password_policy(dn)
    else:
        directory.find_user("anyone")


def test_service_connections_are_reused(slapd_server: slapd.Slapd, proxy_to: MakeProxy) -> None:
    proxy = proxy_to(slapd_server.ldap_port)
    directory = _directory(slapd_server, port=proxy.port)
    try:
        for _ in range(5):
            directory.check_health()
        assert proxy.connections == 1
    finally:
        directory.close()


def test_a_persons_bind_never_lands_in_the_pool(
    slapd_server: slapd.Slapd, proxy_to: MakeProxy, ldap_user: MakeUser
) -> None:
    """Each password check gets its own connection, so no session ever carries a person's bind."""
    dn = ldap_user()
    proxy = proxy_to(slapd_server.ldap_port)
    directory = _directory(slapd_server, port=proxy.port)
    try:
        directory.verify_password(dn, OLD)
        directory.verify_password(dn, OLD)
        directory.check_health()
        assert proxy.connections == 3
    finally:
        directory.close()


def test_a_restart_between_requests_costs_no_failed_request(
    slapd_server: slapd.Slapd, proxy_to: MakeProxy, ldap_user: MakeUser
) -> None:
    """F1: a pooled session cut while idle is noticed before use, not by the next write."""
    dn = ldap_user()
    proxy = proxy_to(slapd_server.ldap_port)
    directory = _directory(slapd_server, port=proxy.port, pool_check_seconds=0)
    try:
        directory.check_health()  # one idle pooled session
        proxy.set_mode("refuse")  # the directory restarts: the session is cut
        proxy.set_mode("pass")
        directory.set_password(dn, "After-Restart-8", unlock=True)
        assert directory.verify_password(dn, "After-Restart-8") is True
    finally:
        directory.close()


@pytest.mark.parametrize("mode", [TlsMode.STARTTLS, TlsMode.LDAPS])
def test_a_server_hung_before_the_tls_handshake_is_a_timeout_not_a_tls_fault(
    slapd_server: slapd.Slapd, proxy_to: MakeProxy, mode: TlsMode
) -> None:
    port = slapd_server.ldap_port if mode is TlsMode.STARTTLS else slapd_server.ldaps_port
    proxy = proxy_to(port)
    proxy.set_mode("stall")
    directory = _directory(slapd_server, tls=mode, port=proxy.port, operation_timeout=1)
    with pytest.raises(DirectoryUnavailableError) as slow:
        directory.find_user("anyone")
    assert slow.value.code == DirectoryCode.UNAVAILABLE
