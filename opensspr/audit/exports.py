"""The audit log as CSV or JSON lines, for a spreadsheet or a SIEM.

Columns are fixed English names and stored values (activity names, reason codes),
never translated text, so an export reads the same in every language and scripts
can match on it. CSV text cells are defused against formula injection; JSON lines
carry the values as they are (a JSON parser runs nothing). Both stream, so an
export of a year's events never sits in memory whole; the events are read a page at a
time (``in_pages``), so no read stays open while a slow client takes the file.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC

from django.db.models import Q, QuerySet

from opensspr.audit.models import AuditEvent
from opensspr.core.spreadsheets import spreadsheet_safe

COLUMNS = (
    "occurred_at",
    "activity",
    "outcome",
    "reason",
    "actor",
    "target",
    "correlation_id",
    "ip_address",
    "user_agent",
    "details",
    "chain_seq",
    "chain_hash",
)


def in_pages(events: QuerySet[AuditEvent], *, size: int = 2000) -> Iterator[AuditEvent]:
    """``events`` oldest first, each page a query of its own that starts after the last
    event of the one before (by time, then id).

    Not ``iterator()``: on SQLite its statement, and the snapshot it reads, stays open
    until the last row is read, which for a download is as long as the client takes,
    and the write-ahead log can't be checkpointed past it meanwhile.
    """
    ordered = events.order_by("occurred_at", "id")
    page = list(ordered[:size])
    while page:
        yield from page
        if len(page) < size:
            return
        last = page[-1]
        after = Q(occurred_at__gt=last.occurred_at) | Q(
            occurred_at=last.occurred_at, id__gt=last.pk
        )
        page = list(ordered.filter(after)[:size])


def event_record(event: AuditEvent) -> dict[str, object]:
    """The exported fields of one event: what CSV, JSON lines and syslog forwarding carry."""
    return {
        "occurred_at": event.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "activity": event.activity,
        "outcome": event.outcome,
        "reason": event.reason,
        "actor": event.actor_label,
        "target": event.target_label,
        "correlation_id": event.correlation_id,
        "ip_address": event.ip_address or "",
        "user_agent": event.user_agent,
        "details": event.details or {},
        "chain_seq": event.chain_seq,
        "chain_hash": event.chain_hash,
    }


def csv_rows(events: Iterable[AuditEvent]) -> Iterator[str]:
    """The header, then one CSV line per event."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells: list[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    yield line(list(COLUMNS))
    for event in events:
        record = event_record(event)
        record["details"] = json.dumps(record["details"], sort_keys=True)
        cells = ["" if record[name] is None else str(record[name]) for name in COLUMNS]
        yield line([spreadsheet_safe(cell) for cell in cells])


def jsonl_rows(events: Iterable[AuditEvent]) -> Iterator[str]:
    """One JSON object per line, per event."""
    for event in events:
        yield json.dumps(event_record(event), sort_keys=True) + "\n"
