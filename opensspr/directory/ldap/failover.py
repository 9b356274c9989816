"""Several servers of one directory, tried in order while nothing can have been written.

A failure to connect, start TLS or bind (``maybe_written`` False) moves on to
the next server; a failure after a write was sent never does: a second server
must not get the same password write, the crash-safe writeback decides what
happened. The last server that answered is tried first next time. No Django:
the direct-mode connector and the agent share this.

Servers of one directory replicate with a lag, so a write and the reads that
decide whether it landed must meet the same server: ``answered_by`` names the
server that gave an answer, and inside ``only(address)`` every call of this
thread goes to that server alone, with no failover (security bar F5).
"""

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

from opensspr.core.health import Health, HealthState
from opensspr.directory.errors import DirectoryCode, DirectoryError, DirectoryUnavailableError
from opensspr.directory.ldap.active_directory import ActiveDirectory
from opensspr.directory.ldap.config import LdapConfig
from opensspr.directory.ldap.openldap import OpenLdapDirectory
from opensspr.directory.ldap.reader import DirectReader
from opensspr.directory.ldap.records import DEFAULT_PAGE_SIZE, ChangeMark, Entry
from opensspr.directory.values import AccountState, DirectoryPasswordPolicy

Ldap = OpenLdapDirectory | ActiveDirectory
ACTIVE_DIRECTORY = "active_directory"


def build(kind: str, configs: Sequence[LdapConfig], *, policy_hints: bool) -> list[Ldap]:
    return [
        ActiveDirectory(config, policy_hints=policy_hints)
        if kind == ACTIVE_DIRECTORY
        else OpenLdapDirectory(config)
        for config in configs
    ]


class Failover:
    def __init__(self, servers: Sequence[Ldap]) -> None:
        self.servers = list(servers)
        self._preferred = 0
        self._lock = threading.Lock()
        self._pin = threading.local()

    def close(self) -> None:
        for server in self.servers:
            server.close()

    @staticmethod
    def address(server: Ldap) -> str:
        return f"{server.config.host}:{server.config.port}"

    @contextmanager
    def only(self, address: str) -> Iterator[None]:
        """Inside, every call of this thread goes to the server at ``address`` alone."""
        previous = getattr(self._pin, "address", None)
        self._pin.address = address
        try:
            yield
        finally:
            self._pin.address = previous

    def knows(self, address: str) -> bool:
        """Whether ``address`` is one of these servers (as ``answered_by`` names them)."""
        return any(self.address(server) == address for server in self.servers)

    def call[T](self, operation: Callable[[Ldap], T]) -> T:
        """``operation`` on the preferred server; on to the next only if nothing was sent."""
        return self.answered_by(operation)[0]

    def answered_by[T](self, operation: Callable[[Ldap], T]) -> tuple[T, str]:
        """``call``, and the address of the server that answered."""
        pinned = getattr(self._pin, "address", None)
        if pinned is not None:
            server = next((s for s in self.servers if self.address(s) == pinned), None)
            if server is None:  # the settings changed since: that server is gone
                error = DirectoryUnavailableError(
                    "the server is no longer configured", code=DirectoryCode.UNAVAILABLE
                )
                error.maybe_written = False
                raise error
            return operation(server), pinned
        failure: DirectoryUnavailableError | None = None
        count = len(self.servers)
        if not count:
            raise DirectoryUnavailableError(
                "no server URL configured", code=DirectoryCode.UNAVAILABLE
            )
        start = self._preferred
        for step in range(count):
            index = (start + step) % count
            try:
                result = operation(self.servers[index])
            except DirectoryUnavailableError as exc:
                if exc.maybe_written:
                    raise
                failure = exc
                continue
            if index != self._preferred:
                with self._lock:
                    self._preferred = index
            return result, self.address(self.servers[index])
        assert failure is not None
        raise failure

    # The operations by DN (what an agent's job names) -----------------------------------

    def verify_password(self, dn: str, password: str) -> bool:
        return self.call(lambda server: server.verify_password(dn, password))

    def set_password(
        self, dn: str, password: str, *, unlock: bool, must_change: bool = False
    ) -> None:
        self.call(
            lambda server: server.set_password(dn, password, unlock=unlock, must_change=must_change)
        )

    def change_password(self, dn: str, old: str, new: str) -> None:
        self.call(lambda server: server.change_password(dn, old, new))

    def unlock(self, dn: str) -> None:
        self.call(lambda server: server.unlock(dn))

    def password_marker(self, dn: str) -> str | None:
        return self.call(lambda server: server.password_marker(dn))

    def password_marker_where(self, dn: str) -> tuple[str | None, str]:
        """The marker, and the address of the server that gave it (the write goes there)."""
        return self.answered_by(lambda server: server.password_marker(dn))

    def account_state(self, dn: str) -> AccountState:
        return self.call(lambda server: server.account_state(dn))

    def password_policy(self, dn: str) -> DirectoryPasswordPolicy | None:
        return self.call(lambda server: server.password_policy(dn))

    def _reader(self, server: Ldap) -> DirectReader:
        return DirectReader(server.pool, active_directory=isinstance(server, ActiveDirectory))

    def change_mark(self, base: str) -> ChangeMark | None:
        return self.call(lambda server: self._reader(server).mark(base))

    def search(
        self,
        base: str,
        search_filter: str,
        attributes: Iterable[str],
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        time_limit: int = 30,
    ) -> Iterator[Entry]:
        """Sync's paged read on the preferred server (a read cut short is read again later)."""
        if not self.servers:
            raise DirectoryUnavailableError("no server URL configured")
        server = self.servers[self._preferred]
        yield from self._reader(server).search(
            base, search_filter, attributes, page_size=page_size, time_limit=time_limit
        )

    def check_health(self) -> Health:
        """The first server that isn't down; a down one counts as unreachable."""
        try:
            return self.call(lambda server: healthy(server.check_health()))
        except DirectoryError as exc:
            return Health(HealthState.DOWN, str(exc.code))


def healthy(health: Health) -> Health:
    """A server that answers DOWN counts as unreachable, so the next one is asked."""
    if health.state == HealthState.DOWN:
        known = health.detail in DirectoryCode.__members__.values()
        code = health.detail if known else DirectoryCode.UNAVAILABLE
        error = DirectoryUnavailableError(health.detail or "down", code=code)
        error.maybe_written = False
        raise error
    return health
