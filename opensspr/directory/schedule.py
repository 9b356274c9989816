"""Running sync on the configured schedule, from ``opensspr worker``.

Any number of workers may run: a run is claimed with one conditional UPDATE of
``SyncState.lease_until`` (atomic on SQLite and PostgreSQL), so only one
worker syncs at a time; a worker that dies mid-run frees the claim when the
lease expires. A failed run also counts as a run for the schedule, so an
unreachable directory is retried at the interval, not in a tight loop (the
failure is audited by ``run_sync``).
"""

import logging
import threading
from datetime import timedelta

from django.db import close_old_connections, connections
from django.db.models import Q

from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.directory.errors import DirectoryError
from opensspr.directory.models import SyncState
from opensspr.directory.sync import SyncReport, get_settings, run_sync

logger = logging.getLogger("opensspr.directory.schedule")
LEASE = timedelta(hours=2)


def _claim() -> bool:
    now = clock.now()
    SyncState.objects.get_or_create(pk=1)
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    return SyncState.objects.filter(free, pk=1).update(lease_until=now + LEASE) == 1


def run_due_sync() -> SyncReport | None:
    """Run a sync if one is due and no other worker runs one; the report, or None."""
    settings = get_settings()
    if settings is None or not settings.enabled or not settings.sync_interval_minutes:
        return None
    state = SyncState.objects.filter(pk=1).first()
    if state is not None and state.last_run_at is not None:
        due = state.last_run_at + timedelta(minutes=settings.sync_interval_minutes)
        if clock.now() < due:
            return None
    if not _claim():
        return None
    try:
        return run_sync(meta=RequestMeta.system())
    except DirectoryError as exc:
        logger.warning("scheduled sync failed: %s", exc.code)
        SyncState.objects.filter(pk=1).update(last_run_at=clock.now())
        return None
    finally:
        SyncState.objects.filter(pk=1).update(lease_until=None)


def run_sync_scheduler(stop: threading.Event, *, interval: float = 30.0) -> None:
    """Check for a due sync every ``interval`` seconds until ``stop`` is set."""
    while not stop.is_set():
        close_old_connections()
        try:
            run_due_sync()
        except Exception as exc:  # the database restarting: try again next time
            logger.error("sync scheduler iteration failed: %s", type(exc).__name__)
        stop.wait(interval)
    connections.close_all()


def start_sync_scheduler(stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(
        target=run_sync_scheduler, args=(stop,), daemon=True, name="opensspr-sync"
    )
    thread.start()
    return thread
