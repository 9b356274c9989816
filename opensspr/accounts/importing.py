"""Bulk import of directory users from CSV.

Every row is its own transaction: a good row is kept, a bad row is reported
with its line number and every problem found, and no row is ever half-written
(a user without its groups or roles). A header we don't understand stops the
import before anything is written. Rows never carry passwords: imported users
set theirs through reset, or get a temporary one from an administrator.
"""

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import transaction

from opensspr.accounts.services import UserData, create_user
from opensspr.core.request_meta import RequestMeta

REQUIRED = ("user_id", "display_name")
TEXT_COLUMNS = (
    "given_name",
    "surname",
    "email",
    "auth_email",
    "mobile_phone",
    "office_phone",
    "source",
    "on_premises_dn",
    "user_type",
    "guest_kind",
)
BOOL_COLUMNS = ("account_enabled", "sspr_licensed", "password_never_expires")
LIST_COLUMNS = ("groups", "roles")
COLUMNS = REQUIRED + TEXT_COLUMNS + BOOL_COLUMNS + LIST_COLUMNS
_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n"}


class ImportHeaderError(ValueError):
    """The file's header can't be mapped onto our columns; nothing was imported."""


@dataclass(frozen=True)
class RowError:
    line: int
    user_id: str
    messages: tuple[str, ...]


@dataclass
class ImportReport:
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)


def _flatten(error: ValidationError) -> tuple[str, ...]:
    if hasattr(error, "error_dict"):
        return tuple(f"{name}: {m}" for name, errs in error.message_dict.items() for m in errs)
    return tuple(error.messages)


def _parse_bool(column: str, raw: str, default: bool) -> bool:
    value = raw.strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValidationError({column: [f"expected true or false, not {raw.strip()!r}"]})


def row_to_data(row: dict[str, str]) -> UserData:
    values = {k: (row.get(k) or "").strip() for k in COLUMNS}
    missing = [c for c in REQUIRED if not values[c]]
    if missing:
        raise ValidationError({c: ["this column is required"] for c in missing})
    defaults = UserData(user_id="", display_name="")
    # Keyed by the column lists, so the type checker can't pair each value with its field.
    columns: dict[str, Any] = {
        **{c: values[c] or getattr(defaults, c) for c in TEXT_COLUMNS},
        **{c: _parse_bool(c, values[c], getattr(defaults, c)) for c in BOOL_COLUMNS},
        **{c: tuple(p.strip() for p in values[c].split(";") if p.strip()) for c in LIST_COLUMNS},
    }
    return UserData(user_id=values["user_id"], display_name=values["display_name"], **columns)


def read_rows(stream: IO[str]) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(stream)
    header = [h.strip() for h in (reader.fieldnames or [])]
    unknown = sorted(set(header) - set(COLUMNS))
    absent = [c for c in REQUIRED if c not in header]
    if unknown or absent:
        parts = []
        if unknown:
            parts.append(f"unknown columns: {', '.join(unknown)}")
        if absent:
            parts.append(f"missing required columns: {', '.join(absent)}")
        raise ImportHeaderError(f"{'; '.join(parts)} (known columns: {', '.join(COLUMNS)})")
    reader.fieldnames = header
    for row in reader:
        if None in row:
            row.pop(None)  # csv puts surplus cells under None
            row["__surplus__"] = "1"
        yield reader.line_num, row


def import_users(
    rows: Iterable[tuple[int, dict[str, str]]],
    *,
    meta: RequestMeta,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    report = ImportReport()
    for done, (line, row) in enumerate(rows, start=1):
        user_id = (row.get("user_id") or "").strip()
        try:
            if row.get("__surplus__"):
                raise ValidationError("the row has more cells than the header has columns")
            data = row_to_data(row)
            with transaction.atomic():
                create_user(data=data, meta=meta)
                if dry_run:
                    transaction.set_rollback(True)
        except ValidationError as exc:
            report.errors.append(RowError(line, user_id, _flatten(exc)))
        else:
            report.imported += 1
        if progress:
            progress(done)
    return report
