"""``run_sync``: one sync run against the configured directory, audited as one event.

A run reads the change mark first, then users (paged), then groups, then
roles, and stores the new mark only when everything was read: a run cut short
by an outage leaves the old mark, so the next run reads those changes again
(batches already written stay; writing them twice changes nothing).

* **Full** (the first run, ``--full``, every ``full_sync_interval_hours``, or
  when the mark can't be used): every entry in scope; synced users not read
  are disabled here (deleted or moved out of scope there). A full run that
  reads no user at all while synced users exist refuses to disable them:
  that's a wrong base DN or filter, not an empty organisation.
* **Incremental**: only entries changed since the mark (``ldap.reader``).

Audit: one ``directory.sync_completed`` (or ``directory.sync_failed``) event per
run with the counts, plus one event per account enabled or disabled and per
role change. Unchanged and merely updated users get no event of their own.
"""

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from django.db import DatabaseError, transaction

from opensspr.accounts.models import User, UserSource
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.directory.errors import DirectoryError, DirectoryUnavailableError
from opensspr.directory.ldap.records import DEFAULT_PAGE_SIZE, ChangeMark, Entry, changed_filter
from opensspr.directory.models import DirectoryKind, DirectorySettings, SyncState, Transport
from opensspr.directory.sync_groups import GroupCounts, sync_groups, sync_roles
from opensspr.directory.sync_users import EntryError, UserCounts, UserSync, sync_entries

PAGE_TIME_LIMIT = 60  # seconds the server may spend on one page


class SyncNotConfiguredError(Exception):
    """No directory is configured (console: On-premises directory)."""


@dataclass
class SyncReport:
    full: bool
    users: UserCounts
    groups: GroupCounts = field(default_factory=GroupCounts)
    refused_mass_disable: bool = False

    @property
    def errors(self) -> list[EntryError]:
        return self.users.errors + self.groups.errors

    def summary(self) -> dict[str, object]:
        users, groups = self.users, self.groups
        return {
            "full": self.full,
            "users_read": users.read,
            "users_created": users.created,
            "users_updated": users.updated,
            "users_unchanged": users.unchanged,
            "users_disabled": users.disabled,
            "users_enabled": users.enabled,
            "groups_read": groups.read,
            "groups_created": groups.created,
            "groups_updated": groups.updated,
            "groups_emptied": groups.emptied,
            "roles_granted": groups.roles_granted,
            "roles_removed": groups.roles_removed,
            "entry_errors": len(self.errors),
            "refused_mass_disable": self.refused_mass_disable,
        }


def get_settings() -> DirectorySettings | None:
    return DirectorySettings.objects.filter(pk=1).first()


class Reader(Protocol):
    """Where sync reads from: the directory itself, or an agent that reads it for us."""

    def mark(self, base: str) -> ChangeMark | None: ...

    def search(
        self,
        base: str,
        search_filter: str,
        attributes: Iterable[str],
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        time_limit: int = 30,
    ) -> Iterator[Entry]: ...

    def close(self) -> None: ...


#: Readers for the other transports ("agent" is registered by the agents app).
_readers: dict[str, Callable[[DirectorySettings], Reader]] = {}


def register_reader(transport: str, factory: Callable[[DirectorySettings], Reader]) -> None:
    _readers[transport] = factory


def open_reader(settings: DirectorySettings) -> Reader:
    """A reader on the first server that answers, in the configured order (or the agents)."""
    if settings.transport != Transport.DIRECT:
        factory = _readers.get(settings.transport)
        if factory is None:
            raise SyncNotConfiguredError(f"no {settings.transport} transport is installed")
        return factory(settings)
    # Direct mode's reads need ldap3, loaded by a run and not by every process (~13 MB).
    from opensspr.directory.ldap.connection import ServicePool  # noqa: PLC0415
    from opensspr.directory.ldap.readahead import ReadAheadReader  # noqa: PLC0415

    failure: DirectoryError = DirectoryUnavailableError("no server URL configured")
    for config in settings.ldap_configs():
        pool = ServicePool(config)
        try:
            with pool.connection():
                active_directory = settings.kind == DirectoryKind.ACTIVE_DIRECTORY
                return ReadAheadReader(pool, active_directory=active_directory)
        except DirectoryUnavailableError as exc:
            failure = exc
    raise failure


def _full_due(settings: DirectorySettings, state: SyncState) -> bool:
    if state.last_full_run_at is None or not settings.full_sync_interval_hours:
        return state.last_full_run_at is None
    due = state.last_full_run_at + timedelta(hours=settings.full_sync_interval_hours)
    return clock.now() >= due


def run_sync(
    *,
    meta: RequestMeta,
    full: bool = False,
    progress: Callable[[int], None] | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> SyncReport:
    """Import and refresh users and groups; raises ``DirectoryError`` if the run stops."""
    settings = get_settings()
    direct = settings is not None and settings.transport == Transport.DIRECT
    if settings is None or (direct and not settings.url_list()):
        raise SyncNotConfiguredError("no on-premises directory is configured")
    state, _created = SyncState.objects.get_or_create(pk=1)
    reader: Reader | None = None
    try:
        reader = open_reader(settings)
        return _run(
            settings, state, reader, meta=meta, full=full, progress=progress, page_size=page_size
        )
    except DirectoryError as exc:
        with transaction.atomic():
            SyncState.objects.filter(pk=1).update(last_result=f"failed: {exc.code}")
            record_event(
                activity=Activity.DIRECTORY_SYNC_FAILED,
                outcome=Outcome.FAILURE,
                meta=meta,
                reason=str(exc.code),
                target_label="directory",
            )
        raise
    finally:
        if reader is not None:
            reader.close()


def _run(
    settings: DirectorySettings,
    state: SyncState,
    reader: Reader,
    *,
    meta: RequestMeta,
    full: bool,
    progress: Callable[[int], None] | None,
    page_size: int,
) -> SyncReport:
    mark_now = reader.mark(settings.base_dn)
    previous = ChangeMark.decode(state.mark)
    usable = previous is not None and (
        (mark_now is None and previous.kind == "timestamp")
        or (
            mark_now is not None
            and (previous.kind, previous.server) == (mark_now.kind, mark_now.server)
        )
    )
    full = full or not usable or _full_due(settings, state)
    since = "" if full or previous is None else changed_filter(previous)
    users = UserSync(amap=settings.attribute_map(), meta=meta)
    try:
        report = _read(
            settings, reader, users, full=full, since=since, page_size=page_size, progress=progress
        )
        sync_roles(meta=meta, counts=report.groups, reported_later=users.created)
    except BaseException:
        with contextlib.suppress(DatabaseError):  # the error raised matters more
            users.mark_created()
        raise
    users.mark_created()
    _finish(state, mark_now, previous, report=report, meta=meta)
    return report


def _read(
    settings: DirectorySettings,
    reader: Reader,
    users: UserSync,
    *,
    full: bool,
    since: str,
    page_size: int,
    progress: Callable[[int], None] | None,
) -> SyncReport:
    """Read and write the users, then the groups; the report so far."""
    amap, limit = users.amap, PAGE_TIME_LIMIT
    for base in settings.scope("user_ous") or [settings.base_dn]:
        entries = reader.search(
            base,
            f"(&{settings.user_filter}{since})",
            amap.user_attributes(),
            page_size=page_size,
            time_limit=limit,
        )
        sync_entries(entries, users, progress)
    report = SyncReport(full=full, users=users.counts)
    if full:
        nobody = users.counts.read == 0 and users.stored
        report.refused_mass_disable = bool(nobody)
        if not nobody:
            users.disable_missing()
    group_bases = settings.scope("group_ous")
    if group_bases:
        entries = (
            entry
            for base in group_bases
            for entry in reader.search(
                base,
                f"(&{settings.group_filter}{since})",
                amap.group_attributes(),
                page_size=page_size,
                time_limit=limit,
            )
        )
        report.groups = sync_groups(
            entries,
            amap=amap,
            users_by_dn=users.dn_index(),
            full=full,
            reported_later=users.created,
        )
    return report


def _finish(
    state: SyncState,
    mark_now: ChangeMark | None,
    previous: ChangeMark | None,
    *,
    report: SyncReport,
    meta: RequestMeta,
) -> None:
    if mark_now is None:
        newest = report.users.newest_timestamp or (previous.value if previous else "")
        mark_now = ChangeMark("timestamp", newest) if newest else None
    now = clock.now()
    with transaction.atomic():
        state.mark = mark_now.encode() if mark_now else ""
        state.last_run_at = now
        if report.full:
            state.last_full_run_at = now
        state.last_result = "completed with errors" if report.errors else "completed"
        state.save()
        record_event(
            activity=Activity.DIRECTORY_SYNC_COMPLETED,
            outcome=Outcome.SUCCESS,
            meta=meta,
            target_label="directory",
            details=report.summary(),
        )


def count_synced_users() -> int:
    return User.objects.filter(source=UserSource.SYNCED).count()
