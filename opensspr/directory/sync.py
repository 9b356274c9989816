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

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction

from opensspr.accounts.models import User, UserSource
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.directory.errors import DirectoryError, DirectoryUnavailableError
from opensspr.directory.ldap.connection import ServicePool
from opensspr.directory.ldap.reader import (
    DEFAULT_PAGE_SIZE,
    ChangeMark,
    ad_mark,
    changed_filter,
    openldap_mark,
    paged_search,
)
from opensspr.directory.models import DirectoryKind, DirectorySettings, SyncState
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


def open_pool(settings: DirectorySettings) -> ServicePool:
    """A bound pool on the first server that answers, in the configured order."""
    failure: DirectoryError = DirectoryUnavailableError("no server URL configured")
    for config in settings.ldap_configs():
        pool = ServicePool(config)
        try:
            with pool.connection():
                return pool
        except DirectoryUnavailableError as exc:
            failure = exc
    raise failure


def _current_mark(settings: DirectorySettings, pool: ServicePool) -> ChangeMark | None:
    if settings.kind == DirectoryKind.ACTIVE_DIRECTORY:
        return ad_mark(pool)
    return openldap_mark(pool, settings.base_dn)


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
    if settings is None or not settings.url_list():
        raise SyncNotConfiguredError("no on-premises directory is configured")
    state, _created = SyncState.objects.get_or_create(pk=1)
    pool: ServicePool | None = None
    try:
        pool = open_pool(settings)
        return _run(
            settings, state, pool, meta=meta, full=full, progress=progress, page_size=page_size
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
        if pool is not None:
            pool.close_all()


def _run(
    settings: DirectorySettings,
    state: SyncState,
    pool: ServicePool,
    *,
    meta: RequestMeta,
    full: bool,
    progress: Callable[[int], None] | None,
    page_size: int,
) -> SyncReport:
    mark_now = _current_mark(settings, pool)
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
    amap = settings.attribute_map()
    limit = PAGE_TIME_LIMIT

    users = UserSync(amap=amap, meta=meta)
    with pool.connection() as connection:
        for base in settings.scope("user_ous") or [settings.base_dn]:
            entries = paged_search(
                connection,
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
        with pool.connection() as connection:
            entries = (
                entry
                for base in group_bases
                for entry in paged_search(
                    connection,
                    base,
                    f"(&{settings.group_filter}{since})",
                    amap.group_attributes(),
                    page_size=page_size,
                    time_limit=limit,
                )
            )
            report.groups = sync_groups(entries, amap=amap, users_by_dn=users.dn_index(), full=full)
    sync_roles(meta=meta, counts=report.groups)
    _finish(state, mark_now, previous, report=report, meta=meta)
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
