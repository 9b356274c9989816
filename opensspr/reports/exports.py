"""The registration report as CSV: stable column names and values for spreadsheets and scripts.

Column names and cell values are fixed English tokens, not translated text, so
an export reads the same whatever the administrator's language (the columns are
documented in docs/operators/reports.md). Cells that a spreadsheet would run as
a formula are defused (OWASP "CSV injection"): a display name such as
``=HYPERLINK(...)`` is written with a leading apostrophe.
"""

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime

from opensspr.core.spreadsheets import spreadsheet_safe
from opensspr.reports.registered import DataKind, MethodStatus
from opensspr.reports.selectors import RegistrationRow

COLUMNS = (
    "user_id",
    "display_name",
    "sspr_enabled",
    "sspr_registered",
    "sspr_capable",
    "reason_code",
    "methods_registered",
    *(kind.value for kind in DataKind),
    "last_confirmed",
    "reset_blocked_until",  # added later: new columns go last, so scripts keep working
    "user_type",  # member, or guest with how it was invited (guest:b2b_partner, ...)
)


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _method_cell(status: MethodStatus | None) -> str:
    if status is None:
        return ""
    return "proven" if status.proven else "unproven"


def _utc(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def _cells(row: RegistrationRow) -> list[str]:
    return [
        row.user.user_id,
        row.user.display_name,
        _yes_no(row.capability.enabled),
        _yes_no(row.capability.registered),
        _yes_no(row.capability.capable),
        row.capability.reason.value if row.capability.reason else "",
        "+".join(m.kind.value for m in row.info.methods),
        *(_method_cell(row.info.status(kind)) for kind in DataKind),
        _utc(row.info.confirmed_at),
        _utc(row.reset_block.blocked_until if row.reset_block else None),
        _user_type(row),
    ]


def _user_type(row: RegistrationRow) -> str:
    user = row.user
    return f"{user.user_type}:{user.guest_kind}" if user.guest_kind else user.user_type


def csv_header() -> str:
    return _lines([COLUMNS])[0]


def csv_lines(rows: Iterable[RegistrationRow]) -> list[str]:
    """One CSV line per row (``\\r\\n`` ended), cells defused: the stream's pieces."""
    return _lines([spreadsheet_safe(cell) for cell in _cells(row)] for row in rows)


def _lines(rows: Iterable[Iterable[str]]) -> list[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    lines = []
    for row in rows:
        writer.writerow(row)
        lines.append(out.getvalue())
        out.seek(0)
        out.truncate()
    return lines


def registration_csv(rows: Iterable[RegistrationRow]) -> str:
    """The whole report as CSV text (header first, one line per person)."""
    return csv_header() + "".join(csv_lines(rows))
