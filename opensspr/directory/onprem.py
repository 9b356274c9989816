"""The on-premises directory as a connector for synced users, in direct mode.

Sync gave each synced user their entry's DN (``User.on_premises_dn``; only
sync sets it, so a console edit can't point a write at another entry). This
adapter keeps the ``DirectoryConnector`` contract the services already use for
cloud users and hands each call to the LDAP connector of the configured kind.

Servers are tried in the configured order, but only while nothing can have
reached the directory: a failure to connect, start TLS or bind moves on to the
next server (``maybe_written`` is False); a failure after a write was sent
never does, because the reconciler, not a second server, decides what
happened (``writeback``).

Connectors, with their pooled service connections, live as long as the
settings that built them: a console save builds new ones and closes the old.
"""

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from opensspr.accounts.models import User, UserSource
from opensspr.core.health import Health
from opensspr.core.memo import remembered
from opensspr.directory.base import OnPremisesConnector
from opensspr.directory.errors import (
    DirectoryCode,
    DirectoryError,
    DirectoryLookupError,
    DirectoryUnavailableError,
)
from opensspr.directory.ldap.config import LdapConfig
from opensspr.directory.models import DirectorySettings, Transport
from opensspr.directory.values import AccountState, DirectoryPasswordPolicy

if TYPE_CHECKING:
    from opensspr.directory.ldap.failover import Ldap

HEALTH_SECONDS = 5.0  # a health answer serves every request for this long


class OnPremisesDirectory:
    """Reset, change, unlock and sign-in for synced users, against their directory."""

    def __init__(self, kind: str, configs: list[LdapConfig], *, policy_hints: bool) -> None:
        self.kind = kind
        # ldap3 is loaded here, by the first synced person's request, not by every process
        # at start: a server without a directory never loads it (about 13 MB).
        from opensspr.directory.ldap.failover import Failover, build  # noqa: PLC0415

        self.failover = Failover(build(kind, configs, policy_hints=policy_hints))
        self.servers = self.failover.servers
        self._health: tuple[float, Health] | None = None

    def close(self) -> None:
        self.failover.close()

    # The DirectoryConnector contract ------------------------------------------------

    def verify_password(self, user: User, password: str) -> bool:
        dn = _dn(user)
        return self._call(lambda server: server.verify_password(dn, password))

    def set_password(
        self, user: User, password: str, *, unlock: bool, must_change: bool = False
    ) -> None:
        dn = _dn(user)
        self._call(
            lambda server: server.set_password(dn, password, unlock=unlock, must_change=must_change)
        )

    def change_password(self, user: User, old: str, new: str) -> None:
        dn = _dn(user)
        self._call(lambda server: server.change_password(dn, old, new))

    def unlock(self, user: User) -> None:
        dn = _dn(user)
        self._call(lambda server: server.unlock(dn))

    def password_policy(self, user: User) -> DirectoryPasswordPolicy | None:
        dn = _dn(user)
        return self._call(lambda server: server.password_policy(dn))

    def check_health(self) -> Health:
        now = time.monotonic()
        cached = self._health
        if cached is not None and now - cached[0] < HEALTH_SECONDS:
            return cached[1]
        health = self.failover.check_health()  # a server that is down counts as unreachable
        self._health = (now, health)
        return health

    # What the crash-safe writeback reads ----------------------------------------------

    def password_marker(self, user: User) -> str | None:
        dn = _dn(user)
        return self._call(lambda server: server.password_marker(dn))

    def password_marker_where(self, user: User) -> tuple[str | None, str]:
        """The marker, and the address of the server that gave it (the write goes there)."""
        dn = _dn(user)
        return self.failover.answered_by(lambda server: server.password_marker(dn))

    def on_server(self, address: str) -> AbstractContextManager[None]:
        """Inside, this thread's calls go to the server at ``address`` only (no failover)."""
        return self.failover.only(address)

    def account_state(self, user: User) -> AccountState:
        dn = _dn(user)
        return self._call(lambda server: server.account_state(dn))

    def _call[T](self, operation: "Callable[[Ldap], T]") -> T:
        return self.failover.call(operation)


def _dn(user: User) -> str:
    if user.source != UserSource.SYNCED or not user.on_premises_dn:
        raise DirectoryLookupError("no directory entry", code=DirectoryCode.USER_NOT_FOUND)
    return user.on_premises_dn


def settings_row() -> DirectorySettings | None:
    return remembered("directory_settings", lambda: DirectorySettings.objects.filter(pk=1).first())


#: How the directory is reached besides directly: "agent" is registered by the agents app.
_transports: dict[str, Callable[[DirectorySettings], OnPremisesConnector]] = {}


def register_transport(
    name: str, factory: Callable[[DirectorySettings], OnPremisesConnector]
) -> None:
    _transports[name] = factory


def for_settings(settings: DirectorySettings | None) -> OnPremisesConnector:
    """The connector for the current settings (built once per distinct configuration)."""
    if settings is not None and settings.transport != Transport.DIRECT:
        factory = _transports.get(settings.transport)
        if factory is None:
            raise DirectoryUnavailableError(f"no {settings.transport} transport is installed")
        return factory(settings)
    if settings is None or not settings.url_list() or not settings.bind_dn:
        raise DirectoryUnavailableError("no on-premises directory is configured")
    key = (
        settings.kind,
        tuple(settings.ldap_configs()),
        settings.ad_policy_hints,
    )
    connector: OnPremisesConnector = _connectors.get(key)
    return connector


class _Connectors:
    """One live connector, for the newest configuration; the replaced one is closed."""

    def __init__(self) -> None:
        self._key: object = None
        self._connector: OnPremisesDirectory | None = None
        self._lock = threading.Lock()

    def get(self, key: tuple[str, tuple[LdapConfig, ...], bool]) -> OnPremisesDirectory:
        with self._lock:
            if self._connector is None or self._key != key:
                old = self._connector
                kind, configs, hints = key
                self._connector = OnPremisesDirectory(kind, list(configs), policy_hints=hints)
                self._key = key
                if old is not None:
                    old.close()
            return self._connector

    def reset(self) -> None:
        with self._lock:
            if self._connector is not None:
                self._connector.close()
            self._connector, self._key = None, None


_connectors = _Connectors()


def password_policy_of(user: User | None) -> DirectoryPasswordPolicy | None:
    """The directory's rules for ``user``'s next password; None for cloud users or when
    the directory can't say right now (the write will still be checked by it)."""
    if user is None or user.source != UserSource.SYNCED:
        return None
    try:
        return for_settings(settings_row()).password_policy(user)
    except DirectoryError:
        return None
