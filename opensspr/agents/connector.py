"""The directory, reached through the organisation's agents (agent mode).

``AgentDirectory`` keeps the contract ``OnPremisesDirectory`` keeps in direct
mode, so sign-in, reset, change, unlock and the crash-safe writeback work the
same whichever way the directory is reached: each call becomes one job
(``jobs.call``) and the agent's answer comes back as the value or the typed
error the connector would have given.

A password write carries a guard when the writeback recorded one
(``writing``): the marker read before the intent committed. If the write's
first agent vanishes, the next one checks the guard before writing, so the
password is never written twice.

The write and the marker reads that settle it go to one server of the directory
(security bar F5): the marker read before the write asks the agent which server
gave it, and inside ``on_server`` the write and the marker reads name that
server, which the agent then uses alone. An agent too old to say which server
answered gets no pin, and its own failover applies as before.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from opensspr.accounts.models import User, UserSource
from opensspr.agents import jobs, parts
from opensspr.core.health import Health, HealthState
from opensspr.directory.errors import DirectoryCode, DirectoryError, DirectoryLookupError
from opensspr.directory.jobs import (
    JobKind,
    entry_from_wire,
    health_from_wire,
    policy_from_wire,
    state_from_wire,
)
from opensspr.directory.ldap.records import DEFAULT_PAGE_SIZE, ChangeMark, Entry
from opensspr.directory.models import DirectorySettings
from opensspr.directory.values import AccountState, DirectoryPasswordPolicy

_guard: ContextVar[dict[str, Any] | None] = ContextVar("agent_write_guard", default=None)
_server: ContextVar[str] = ContextVar("agent_pinned_server", default="")


def _dn(user: User) -> str:
    if user.source != UserSource.SYNCED or not user.on_premises_dn:
        raise DirectoryLookupError("no directory entry", code=DirectoryCode.USER_NOT_FOUND)
    return user.on_premises_dn


class AgentDirectory:
    """Reset, change, unlock and sign-in for synced users, through the agents."""

    kind = "agent"

    @classmethod
    def for_settings(cls, settings: DirectorySettings) -> "AgentDirectory":
        del settings  # the agents hold the directory's address and credential
        return _instance

    @contextmanager
    def writing(self, marker: str, *, known: bool) -> Iterator[None]:
        """Writes inside carry this guard (the marker the writeback read before committing)."""
        token = _guard.set({"marker": marker, "known": known})
        try:
            yield
        finally:
            _guard.reset(token)

    @contextmanager
    def on_server(self, address: str) -> Iterator[None]:
        """Inside, writes and marker reads go to the server at ``address`` alone."""
        token = _server.set(address)
        try:
            yield
        finally:
            _server.reset(token)

    def _pinned(self, dn: str, **flags: object) -> dict[str, Any]:
        payload: dict[str, Any] = {"dn": dn, **flags}
        if server := _server.get():
            payload["server"] = server
        return payload

    def _write_payload(self, dn: str, **flags: object) -> dict[str, Any]:
        payload = self._pinned(dn, **flags)
        guard = _guard.get()
        if guard is not None:
            payload["guard"] = guard
        return payload

    def verify_password(self, user: User, password: str) -> bool:
        payload = {"dn": _dn(user)}
        return bool(jobs.call(JobKind.VERIFY, payload, {"password": password}))

    def set_password(
        self, user: User, password: str, *, unlock: bool, must_change: bool = False
    ) -> None:
        payload = self._write_payload(_dn(user), unlock=unlock, must_change=must_change)
        jobs.call(JobKind.RESET, payload, {"password": password})

    def change_password(self, user: User, old: str, new: str) -> None:
        payload = self._write_payload(_dn(user))
        jobs.call(JobKind.CHANGE, payload, {"old": old, "new": new})

    def unlock(self, user: User) -> None:
        jobs.call(JobKind.UNLOCK, {"dn": _dn(user)})

    def password_policy(self, user: User) -> DirectoryPasswordPolicy | None:
        return policy_from_wire(jobs.call(JobKind.POLICY, {"dn": _dn(user)}))

    def password_marker(self, user: User) -> str | None:
        value = jobs.call(JobKind.MARKER, self._pinned(_dn(user)))
        return str(value) if value is not None else None

    def password_marker_where(self, user: User) -> tuple[str | None, str]:
        """The marker, and which of the directory's servers gave it ("" from an older agent)."""
        value = jobs.call(JobKind.MARKER, self._pinned(_dn(user), where=True))
        if isinstance(value, dict):
            marker = value.get("marker")
            return (str(marker) if marker is not None else None), str(value.get("server") or "")
        return (str(value) if value is not None else None), ""

    def account_state(self, user: User) -> AccountState:
        return state_from_wire(jobs.call(JobKind.STATE, {"dn": _dn(user)}))

    def check_health(self) -> Health:
        """Healthy when an agent is connected and its last probe of the directory passed."""
        agents = jobs.connected_agents()
        if not agents:
            return Health(HealthState.DOWN, "no_agent")
        if any(agent.probe_state == HealthState.HEALTHY for agent in agents):
            return Health(HealthState.HEALTHY)
        worst = agents[0].probe_code or "probe_failed"
        return health_from_wire({"state": "down", "detail": worst})

    def probe(self) -> Health:
        """Ask a connected agent to probe the directory now (the doctor's quick check)."""
        try:
            return health_from_wire(jobs.call(JobKind.PROBE, {}) or {})
        except DirectoryError as exc:
            return Health(HealthState.DOWN, str(exc.code))

    def close(self) -> None:
        """Nothing to close: agents hold the directory connections."""


_instance = AgentDirectory()


class AgentReader:
    """Sync's reads through the agents: the change mark, then each search streamed in parts."""

    @classmethod
    def for_settings(cls, settings: DirectorySettings) -> "AgentReader":
        del settings
        return cls()

    def mark(self, base: str) -> ChangeMark | None:
        value = jobs.call(JobKind.SYNC_MARK, {"base": base})
        return ChangeMark.decode(str(value)) if value else None

    def search(
        self,
        base: str,
        search_filter: str,
        attributes: Iterable[str],
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        time_limit: int = 30,
    ) -> Iterator[Entry]:
        payload = {
            "base": base,
            "filter": search_filter,
            "attributes": list(attributes),
            "page_size": page_size,
            "time_limit": time_limit,
        }
        for part in parts.stream(jobs.submit(JobKind.SYNC_READ, payload)):
            for item in part:
                yield entry_from_wire(item)

    def close(self) -> None:
        """Nothing to close: the agents hold the directory connections."""
