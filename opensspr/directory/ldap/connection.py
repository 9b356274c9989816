"""Opening validated TLS connections, a small pool for the service account, and
the translation of ldap3's failures into our typed errors.

Invariants: every connection is TLS with certificate and name validation
before any bind (LDAPS, or StartTLS whose failure aborts: there is no
plaintext fallback); every socket has a connect and a receive timeout; a
connection that saw any transport error is closed, never returned to the pool.
Service-account connections are reused; a person's own bind always gets a
fresh connection that is closed right after.
"""

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from ldap3 import NONE, SIMPLE, SYNC, Connection, Server, Tls
from ldap3.core.exceptions import (
    LDAPCertificateError,
    LDAPCommunicationError,
    LDAPException,
    LDAPResponseTimeoutError,
    LDAPSSLConfigurationError,
    LDAPStartTLSError,
)

from opensspr.directory.errors import (
    DirectoryCode,
    DirectoryConfigurationError,
    DirectoryError,
    DirectoryUnavailableError,
)
from opensspr.directory.ldap.config import LdapConfig, TlsMode

Control = tuple[str, bool, bytes | None]

_TLS_WORDS = ("ssl", "certificate", "tls", "handshake")


def build_server(config: LdapConfig) -> Server:
    """A Server that validates the certificate chain and the name, TLS 1.2 or later.

    ldap3 checks the name itself after the handshake: the certificate must
    carry ``host`` or ``server_name``.
    """
    names = [config.server_name] if config.server_name else None
    tls = Tls(
        validate=ssl.CERT_REQUIRED,
        ca_certs_file=config.ca_file,
        ca_certs_data=config.ca_data,
        valid_names=names,
    )  # version None: ssl.create_default_context, so TLS 1.2 or later
    return Server(
        config.host,
        port=config.port,
        use_ssl=config.tls is TlsMode.LDAPS,
        tls=tls,
        get_info=NONE,
        connect_timeout=config.connect_timeout,
    )


@contextmanager
def translated() -> Iterator[None]:
    """Turn transport and TLS failures into ``DirectoryUnavailableError``.

    The reason names the failure class only: ldap3's messages can quote the
    request, and a request can hold a password.
    """
    try:
        yield
    except DirectoryError:
        raise
    except (
        LDAPStartTLSError,
        LDAPCertificateError,
        LDAPSSLConfigurationError,
        ssl.SSLError,
    ) as exc:
        raise DirectoryUnavailableError(
            type(exc).__name__, code=DirectoryCode.TLS_FAILURE
        ) from None
    except (LDAPCommunicationError, LDAPResponseTimeoutError, OSError) as exc:
        text = str(exc).lower()
        tls_fault = any(w in text for w in _TLS_WORDS) and "timed out" not in text
        code = DirectoryCode.TLS_FAILURE if tls_fault else None
        raise DirectoryUnavailableError(type(exc).__name__, code=code) from None
    except LDAPException as exc:
        raise DirectoryError(type(exc).__name__) from None


def open_bound(
    config: LdapConfig, user: str, password: str, controls: list[Control] | None = None
) -> tuple[Connection, bool]:
    """Open a TLS connection and bind; returns it and whether the bind succeeded.

    On a failed bind the connection stays open so the caller can read
    ``connection.result`` (diagnostics, ppolicy control), then must close it.
    """
    connection = Connection(
        build_server(config),
        user=user,
        password=password,
        authentication=SIMPLE,
        client_strategy=SYNC,
        receive_timeout=config.operation_timeout,
        auto_referrals=False,
        raise_exceptions=False,
        return_empty_attributes=False,
        check_names=False,  # we read raw_attributes only: skip the formatted copy
    )
    try:
        with translated():
            connection.open()
            _no_delay(connection)
            if config.tls is TlsMode.STARTTLS and not connection.start_tls():
                raise DirectoryUnavailableError("starttls refused", code=DirectoryCode.TLS_FAILURE)
            if not (connection.tls_started or connection.server.ssl):
                raise DirectoryUnavailableError("no TLS", code=DirectoryCode.TLS_FAILURE)
            bound = connection.bind(controls=controls)
    except DirectoryError as exc:
        close(connection)
        if isinstance(exc, DirectoryUnavailableError):
            exc.maybe_written = False  # nothing was sent but the bind
        raise
    return connection, bool(bound)


def _no_delay(connection: Connection) -> None:
    """Send small LDAP requests at once (TCP_NODELAY).

    Each of a person's binds opens a fresh connection; with Nagle's algorithm the
    bind after the TLS handshake waited for a delayed ACK, about 40 ms every time on
    loopback (bench/bench_writeback.py: the change and sign-in check p50 of 48 ms).
    """
    sock = getattr(connection, "socket", None)
    if sock is not None:
        with suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def close(connection: Connection) -> None:
    with suppress(LDAPException, OSError):  # already gone: nothing to release
        connection.unbind()


class ServicePool:
    """Bound service-account connections, reused across operations (thread-safe).

    A connection is lent to one caller at a time. One that failed in transport
    is dropped; one idle longer than ``pool_idle_seconds`` is closed rather than
    lent; one idle longer than ``pool_check_seconds`` must first answer a
    Who-am-I (RFC 4532). Servers restart and firewalls cut idle sessions: without
    the check, the first request after an outage would fail on a dead socket
    although the directory is back (F1), and a password write must never be the
    request that finds out.
    """

    def __init__(self, config: LdapConfig) -> None:
        self._config = config
        self._idle: list[tuple[float, Connection]] = []
        self._lock = threading.Lock()

    @property
    def config(self) -> LdapConfig:
        return self._config

    def _take(self) -> Connection | None:
        while True:
            with self._lock:
                if not self._idle:
                    return None
                since, connection = self._idle.pop()
            idle = time.monotonic() - since
            if idle <= self._config.pool_idle_seconds and self._alive(connection, idle):
                return connection
            close(connection)

    def _alive(self, connection: Connection, idle: float) -> bool:
        if connection.closed:
            return False
        if idle < self._config.pool_check_seconds:
            return True
        try:
            return connection.extend.standard.who_am_i() is not None
        except (LDAPException, OSError):
            return False

    def _open(self) -> Connection:
        connection, bound = open_bound(
            self._config, self._config.bind_dn, self._config.bind_password
        )
        if not bound:
            close(connection)
            raise DirectoryConfigurationError(
                "the service account could not bind", code=DirectoryCode.SERVICE_BIND_FAILED
            )
        return connection

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        connection = self._take() or self._open()
        try:
            with translated():
                yield connection
        except DirectoryUnavailableError:
            close(connection)
            raise
        except DirectoryError:
            self._give_back(connection)  # a typed refusal leaves the session usable
            raise
        except BaseException:
            close(connection)
            raise
        else:
            self._give_back(connection)

    def _give_back(self, connection: Connection) -> None:
        with self._lock:
            if len(self._idle) < self._config.pool_size and not connection.closed:
                self._idle.append((time.monotonic(), connection))
                return
        close(connection)

    def close_all(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for _, connection in idle:
            close(connection)
