"""The agent's jobs, as both ends see them (no Django: the agent runs this module).

A job is one directory operation the server asks an on-premises agent to run:
its ``kind``, a payload without secrets (the entry's DN, flags) and, for the
kinds that carry a password, envelopes sealed to the agent (``sealing``). The
agent answers with a result: a value, or a typed error whose ``code`` is a
``DirectoryCode``, so the person sees the same translated message whether the
server reached the directory itself or through an agent.

``execute`` is the agent's half: it opens the envelopes, calls the connector
and encodes the answer. A password write that is run a second time (its
first agent vanished mid-job) first reads the entry's password marker: if the
marker moved since the write was recorded, the first write landed and this
one reports it done without writing again.

Servers of one directory replicate with a lag (security bar F5), so a write and
the reads that settle it meet the server that gave the marker: a marker job
asked ``where`` answers which server gave it, and a job whose payload names a
``server`` runs on that server alone, with no failover to a replica that may
not have the write yet. An agent that doesn't list that server refuses the job
as unreachable rather than fall back to a server of its own (which could be
that lagging replica): a read or a first write as "nothing written", a write
handed on from a vanished agent as "maybe written", left to the reconciler.
"""

import base64
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from opensspr.core.health import Health, HealthState
from opensspr.directory.errors import (
    DirectoryAccountError,
    DirectoryCode,
    DirectoryConfigurationError,
    DirectoryError,
    DirectoryLookupError,
    DirectoryRejectedError,
    DirectoryUnavailableError,
    ProtectedAccountError,
)
from opensspr.directory.ldap.records import DEFAULT_PAGE_SIZE, ChangeMark, Entry
from opensspr.directory.values import AccountState, DirectoryPasswordPolicy

PROTOCOL = 1  # bumped when a job or result changes shape; older agents show as "too old"


class JobKind(StrEnum):
    VERIFY = "verify"  # sign-in: bind as the person
    RESET = "reset"  # set a new password as the service account
    CHANGE = "change"  # the person's own change, bound as them
    UNLOCK = "unlock"
    MARKER = "marker"  # the password marker the crash-safe writeback compares
    STATE = "state"  # lock, expiry, must-change
    POLICY = "policy"  # the directory's password rules for the entry
    PROBE = "probe"  # the directory's health, as the service account
    SYNC_MARK = "sync_mark"  # the directory's change mark, before a sync reads
    SYNC_READ = "sync_read"  # one paged search for sync, answered in parts


#: Kinds that write a password: run at most once at a time, guarded by the marker.
PASSWORD_WRITES = frozenset({JobKind.RESET, JobKind.CHANGE})
#: Kinds whose answer comes in parts: never handed to a second agent mid-way.
STREAMED = frozenset({JobKind.SYNC_READ})
#: At most a page of entries per part (one POST each), fewer when they pass this many bytes.
PART_BYTES = 512 * 1024
#: The sealed fields each kind carries.
SECRETS: Mapping[JobKind, tuple[str, ...]] = {
    JobKind.VERIFY: ("password",),
    JobKind.RESET: ("password",),
    JobKind.CHANGE: ("old", "new"),
}


def seal_context(job_id: str, kind: str, field: str) -> str:
    """What an envelope is bound to: it opens for this job, kind and field only."""
    return f"opensspr-job:{job_id}:{kind}:{field}"


# Most specific first: the first family an error is an instance of names it.
_ERRORS: dict[str, type[DirectoryError]] = {
    "protected": ProtectedAccountError,
    "rejected": DirectoryRejectedError,
    "unavailable": DirectoryUnavailableError,
    "account": DirectoryAccountError,
    "lookup": DirectoryLookupError,
    "configuration": DirectoryConfigurationError,
    "error": DirectoryError,
}


def error_to_wire(exc: DirectoryError) -> dict[str, Any]:
    """The error as the agent reports it: family, stable code, and whether a write may have gone.

    The directory's own diagnostic (``reason``) is for the operator at the
    agent's side: it stays in the agent's log and is not sent.
    """
    family = next(name for name, cls in _ERRORS.items() if isinstance(exc, cls))
    wire: dict[str, Any] = {"family": family, "code": str(exc.code)}
    if isinstance(exc, DirectoryUnavailableError):
        wire["maybe_written"] = bool(exc.maybe_written)
    return wire


def error_from_wire(data: Mapping[str, Any], *, source: str = "the agent") -> DirectoryError:
    """``error_to_wire`` read back; ``source`` names who reported it (the operator's reason).

    Also the read-ahead child's answer (``ldap/readahead.py``): one vocabulary for an
    error that crossed a process boundary.
    """
    reason = f"reported by {source}"
    family = str(data.get("family", "error"))
    code = str(data.get("code") or DirectoryCode.UNEXPECTED)
    if code not in DirectoryCode.__members__.values():
        code = DirectoryCode.UNEXPECTED
    cls = _ERRORS.get(family, DirectoryError)
    if cls is DirectoryRejectedError:
        return DirectoryRejectedError(code, reason)
    error = cls(reason, code=code)
    if isinstance(error, DirectoryUnavailableError):
        error.maybe_written = bool(data.get("maybe_written", True))
    return error


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _seconds(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


def state_to_wire(state: AccountState) -> dict[str, Any]:
    data = asdict(state)
    data["password_changed_at"] = _when(state.password_changed_at)
    data["password_expires_at"] = _when(state.password_expires_at)
    return data


def state_from_wire(data: Mapping[str, Any]) -> AccountState:
    def when(name: str) -> datetime | None:
        value = data.get(name)
        return datetime.fromisoformat(value) if value else None

    return AccountState(
        locked=bool(data["locked"]),
        disabled=bool(data["disabled"]),
        must_change=bool(data["must_change"]),
        password_expired=bool(data["password_expired"]),
        password_changed_at=when("password_changed_at"),
        password_expires_at=when("password_expires_at"),
        protected=bool(data.get("protected", False)),
    )


def policy_to_wire(policy: DirectoryPasswordPolicy | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    data = asdict(policy)
    data["min_age"] = _seconds(policy.min_age)
    data["max_age"] = _seconds(policy.max_age)
    return data


def policy_from_wire(data: Mapping[str, Any] | None) -> DirectoryPasswordPolicy | None:
    if data is None:
        return None

    def span(name: str) -> timedelta | None:
        value = data.get(name)
        return timedelta(seconds=float(value)) if value is not None else None

    return DirectoryPasswordPolicy(
        min_length=data.get("min_length"),
        history=data.get("history"),
        complexity=bool(data.get("complexity", False)),
        min_age=span("min_age"),
        max_age=span("max_age"),
        lockout_threshold=data.get("lockout_threshold"),
        source=str(data.get("source", "")),
    )


class Connector(Protocol):
    """What the agent's directory offers (``OpenLdapDirectory``, ``ActiveDirectory``)."""

    def verify_password(self, dn: str, password: str) -> bool: ...
    def set_password(
        self, dn: str, password: str, *, unlock: bool, must_change: bool = False
    ) -> None: ...
    def change_password(self, dn: str, old: str, new: str) -> None: ...
    def unlock(self, dn: str) -> None: ...
    def password_marker(self, dn: str) -> str | None: ...
    def password_marker_where(self, dn: str) -> tuple[str | None, str]: ...
    def only(self, address: str) -> AbstractContextManager[None]: ...
    def knows(self, address: str) -> bool: ...
    def account_state(self, dn: str) -> AccountState: ...
    def password_policy(self, dn: str) -> DirectoryPasswordPolicy | None: ...
    def check_health(self) -> Health: ...
    def change_mark(self, base: str) -> ChangeMark | None: ...
    def search(
        self,
        base: str,
        search_filter: str,
        attributes: Iterable[str],
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        time_limit: int = 30,
    ) -> Iterator[Entry]: ...


Opener = Callable[[str], str]  # field name -> the plaintext of its envelope


Emit = Callable[[list[dict[str, Any]]], None]  # send one part of a streamed answer


def execute(
    connector: Connector,
    job: Mapping[str, Any],
    secret: Opener,
    emit: Emit | None = None,
) -> dict[str, Any]:
    """Run one job; the result to send back (``{"value": ...}`` or ``{"error": {...}}``).

    A sync read sends its entries through ``emit`` as it reads them, a part at a
    time, and answers with how many parts it sent. A job whose payload names a
    ``server`` runs on that server alone, and is refused by an agent that doesn't list it
    (the module's docstring says why).
    """
    kind = JobKind(job["kind"])
    payload: Mapping[str, Any] = job.get("payload") or {}
    dn = str(payload.get("dn", ""))
    server = str(payload.get("server") or "")
    try:
        if server and not connector.knows(server):
            raise _not_listed(kind, payload)
        with connector.only(server) if server else nullcontext():
            value = _execute(connector, kind, dn, payload, secret=secret, emit=emit)
    except DirectoryError as exc:
        return {"error": error_to_wire(exc)}
    return {"value": value}


def _not_listed(kind: JobKind, payload: Mapping[str, Any]) -> DirectoryUnavailableError:
    """The job is pinned to a server this agent doesn't list (module docstring)."""
    error = DirectoryUnavailableError(
        "this agent doesn't list the server the job is pinned to", code=DirectoryCode.UNAVAILABLE
    )
    # A first write, or any read, reached no directory; a write run again may have landed.
    error.maybe_written = kind in PASSWORD_WRITES and int(payload.get("attempt", 1)) > 1
    return error


def _execute(
    connector: Connector,
    kind: JobKind,
    dn: str,
    payload: Mapping[str, Any],
    *,
    secret: Opener,
    emit: Emit | None,
) -> Any:
    if kind is JobKind.SYNC_READ:
        assert emit is not None, "a sync read needs somewhere to send its parts"
        return _sync_read(connector, payload, emit)
    if kind is JobKind.SYNC_MARK:
        mark = connector.change_mark(str(payload["base"]))
        return mark.encode() if mark else None
    return _run(connector, kind, dn, payload, secret)


def _sync_read(connector: Connector, payload: Mapping[str, Any], emit: Emit) -> Any:
    entries = connector.search(
        str(payload["base"]),
        str(payload["filter"]),
        [str(a) for a in payload["attributes"]],
        page_size=int(payload.get("page_size", DEFAULT_PAGE_SIZE)),
        time_limit=int(payload.get("time_limit", 30)),
    )
    page_size = int(payload.get("page_size", DEFAULT_PAGE_SIZE))
    parts, batch, size = 0, [], 0
    for entry in entries:
        wire = entry_to_wire(entry)
        batch.append(wire)
        size += len(entry.dn) + sum(len(v) for vs in entry.attributes.values() for v in vs)
        if size >= PART_BYTES or len(batch) >= page_size:  # a page, or less if it's big
            emit(batch)
            parts, batch, size = parts + 1, [], 0
    if batch:
        emit(batch)
        parts += 1
    return {"parts": parts}


def entry_to_wire(entry: Entry) -> dict[str, Any]:
    """An entry's raw values as base64 text (they may be binary: objectGUID, photos)."""
    return {
        "dn": entry.dn,
        "a": {
            name: [base64.b64encode(value).decode("ascii") for value in values]
            for name, values in entry.attributes.items()
        },
    }


def entry_from_wire(data: Mapping[str, Any]) -> Entry:
    return Entry(
        str(data["dn"]),
        {
            str(name).lower(): [base64.b64decode(value) for value in values]
            for name, values in (data.get("a") or {}).items()
        },
    )


def _run(
    connector: Connector, kind: JobKind, dn: str, payload: Mapping[str, Any], secret: Opener
) -> Any:
    if kind in PASSWORD_WRITES and payload.get("attempt", 1) > 1 and payload.get("guard"):
        guard = payload["guard"]
        marker = connector.password_marker(dn)
        moved = marker is not None if not guard.get("known") else marker != guard.get("marker")
        if moved:  # an earlier run of this job landed: never write the password twice
            return {"already": True}
    return _OPERATIONS[kind](connector, dn, payload, secret)


def _reset(connector: Connector, dn: str, payload: Mapping[str, Any], secret: Opener) -> Any:
    unlock, must_change = bool(payload.get("unlock")), bool(payload.get("must_change"))
    connector.set_password(dn, secret("password"), unlock=unlock, must_change=must_change)
    return {"already": False}


def _change(connector: Connector, dn: str, payload: Mapping[str, Any], secret: Opener) -> Any:
    connector.change_password(dn, secret("old"), secret("new"))
    return {"already": False}


def _unlock(connector: Connector, dn: str, payload: Mapping[str, Any], secret: Opener) -> Any:
    connector.unlock(dn)


def _marker(connector: Connector, dn: str, payload: Mapping[str, Any], secret: Opener) -> Any:
    """The marker; asked ``where`` (a server that pins writes), with the server that gave it.

    Only when asked: a server too old to pin reads the bare marker it always did.
    """
    if not payload.get("where"):
        return connector.password_marker(dn)
    marker, server = connector.password_marker_where(dn)
    return {"marker": marker, "server": server}


def _probe(connector: Connector, dn: str, payload: Mapping[str, Any], secret: Opener) -> Any:
    health = connector.check_health()
    return {"state": str(health.state), "detail": health.detail}


_OPERATIONS: Mapping[JobKind, Callable[[Connector, str, Mapping[str, Any], Opener], Any]] = {
    JobKind.VERIFY: lambda c, dn, p, secret: c.verify_password(dn, secret("password")),
    JobKind.RESET: _reset,
    JobKind.CHANGE: _change,
    JobKind.UNLOCK: _unlock,
    JobKind.MARKER: _marker,
    JobKind.STATE: lambda c, dn, p, secret: state_to_wire(c.account_state(dn)),
    JobKind.POLICY: lambda c, dn, p, secret: policy_to_wire(c.password_policy(dn)),
    JobKind.PROBE: _probe,
}


def health_from_wire(data: Mapping[str, Any]) -> Health:
    state = str(data.get("state", "down"))
    valid = state if state in HealthState.__members__.values() else HealthState.DOWN
    return Health(HealthState(valid), str(data.get("detail", ""))[:64])
