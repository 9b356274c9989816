"""The insights tables as CSV, one table per download, written line by line.

As with the registration CSV, column names and values are fixed English tokens
(activity and method codes, ISO dates), not translated text, and every cell
goes through ``spreadsheet_safe`` (a reason code starting with "=" stays text).
The lines are produced as they are written (``StreamingHttpResponse``), so a
long range never sits whole in memory. Counts only: no person is named.
"""

import csv
from collections.abc import Iterable, Iterator
from typing import Protocol

from opensspr.core.spreadsheets import spreadsheet_safe
from opensspr.reports.insights import (
    Period,
    list_daily_usage,
    list_failures,
    list_method_usage,
    list_registration_trend,
)
from opensspr.reports.models import SNAPSHOT_COUNTERS


class _Echo:
    """A file that hands back what is written, for ``csv.writer`` to stream through."""

    def write(self, value: str) -> str:
        return value


class _Table(Protocol):
    def __call__(self, period: Period) -> Iterable[list[object]]: ...


def _daily(period: Period) -> Iterable[list[object]]:
    yield ["day", "resets", "unlocks", "changes", "failures", "people_blocked"]
    for d in list_daily_usage(period):
        yield [d.day.isoformat(), d.resets, d.unlocks, d.changes, d.failures, d.blocked]


def _methods(period: Period) -> Iterable[list[object]]:
    yield ["methods", "resets", "unlocks"]
    for m in list_method_usage(period):
        yield [m.method, m.resets, m.unlocks]


def _failures(period: Period) -> Iterable[list[object]]:
    yield ["kind", "activity", "reason", "count"]
    for f in list_failures(period):
        yield [f.kind, f.activity, f.reason, f.count]


def _registration(period: Period) -> Iterable[list[object]]:
    yield ["day", *SNAPSHOT_COUNTERS]
    for row in list_registration_trend(period):
        yield [row.day.isoformat(), *(getattr(row, name) for name in SNAPSHOT_COUNTERS)]


#: The tables a download may ask for (``?export=<name>``).
TABLES: dict[str, _Table] = {
    "daily": _daily,
    "methods": _methods,
    "failures": _failures,
    "registration": _registration,
}


def stream_csv(table: str, period: Period) -> Iterator[str]:
    """The lines of ``table`` over ``period``, header first, CRLF-terminated."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    for row in TABLES[table](period):
        yield writer.writerow([spreadsheet_safe(str(cell)) for cell in row])
