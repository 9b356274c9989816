"""Operations at a glance for the console home: deliveries, the directory, writebacks, agents.

Read from rows the services already keep (the outbox, the sync state, the
writeback intents), by indexed ranges, never by asking a provider or the
directory over the network: the home page must open fast when a dependency is
down, which is exactly when it is read. The directory doctor (console) asks
the servers themselves.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count

from opensspr.agents.status import DirectoryStatus, Status, of_directory
from opensspr.channels.models import Message, MessageStatus
from opensspr.core import clock
from opensspr.directory.models import (
    DirectorySettings,
    IntentState,
    SyncState,
    Transport,
    WritebackIntent,
)

#: A message still waiting after this long, or a writeback still open, means the worker
#: or a dependency is stuck.
STUCK_AFTER = timedelta(minutes=5)
#: Agent statuses in which writeback works (an outdated agent still does the work).
WORKING = (Status.RUNNING, Status.OUTDATED)
_UNDELIVERED = (MessageStatus.FAILED, MessageStatus.EXPIRED, MessageStatus.UNCERTAIN)


@dataclass(frozen=True)
class Health:
    sent: int  # messages sent in the last 24 hours
    undelivered: int  # failed, expired or maybe-sent in the last 24 hours
    stuck_messages: int  # waiting longer than STUCK_AFTER
    directory_on: bool  # an on-premises directory is configured and enabled
    last_sync_at: datetime | None
    sync_failed: bool  # the last sync stopped with an error
    stuck_writebacks: int  # password writes still unanswered after STUCK_AFTER
    agents: DirectoryStatus | None = None  # agent mode: the agents' status (their rows)

    @property
    def delivery_ok(self) -> bool:
        return not self.undelivered and not self.stuck_messages

    @property
    def directory_ok(self) -> bool:
        agents_ok = self.agents is None or self.agents.status in WORKING
        return not self.sync_failed and not self.stuck_writebacks and agents_ok


def get_health() -> Health:
    now = clock.now()
    recent = (
        Message.objects.filter(created_at__gte=now - timedelta(hours=24))
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_status = {row["status"]: row["n"] for row in recent}
    stuck = Message.objects.filter(
        status=MessageStatus.PENDING, next_attempt_at__lt=now - STUCK_AFTER
    ).count()
    directory = DirectorySettings.objects.first()
    sync = SyncState.objects.filter(pk=1).first()
    writebacks = WritebackIntent.objects.filter(
        state=IntentState.PENDING, started_at__lt=now - STUCK_AFTER
    ).count()
    in_agent_mode = directory is not None and directory.transport == Transport.AGENT
    return Health(
        sent=by_status.get(MessageStatus.SENT, 0),
        undelivered=sum(by_status.get(s, 0) for s in _UNDELIVERED),
        stuck_messages=stuck,
        directory_on=bool(directory and directory.enabled),
        last_sync_at=sync.last_run_at if sync else None,
        sync_failed=bool(sync and sync.last_result.startswith("failed")),
        stuck_writebacks=writebacks,
        agents=of_directory(now=now) if in_agent_mode else None,
    )
