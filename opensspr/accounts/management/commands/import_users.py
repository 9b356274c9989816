"""``opensspr import-users FILE.csv``: bulk-import directory users.

Exit status: 0 all rows imported; 1 some rows rejected (the good ones are
kept); 2 the file could not be read or its header is wrong (nothing imported).
"""

import sys
import time
from io import StringIO
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from opensspr.accounts.importing import COLUMNS, ImportHeaderError, import_users, read_rows
from opensspr.core.request_meta import RequestMeta


class ProgressBar:
    """A plain-text progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, total: int, width: int = 30) -> None:
        self.total, self.width, self._last = max(total, 1), width, 0.0

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if done < self.total and now - self._last < 0.1:
            return
        self._last = now
        filled = int(self.width * done / self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        sys.stderr.write(f"\r[{bar}] {done}/{self.total} rows")
        if done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


class Command(BaseCommand):
    help = f"Import directory users from a CSV file. Columns: {', '.join(COLUMNS)}."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="validate only, write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Can't read {path}: {exc}", returncode=2) from exc
        try:
            rows = list(read_rows(StringIO(text)))
        except ImportHeaderError as exc:
            raise CommandError(f"{path}: {exc}. Nothing was imported.", returncode=2) from exc
        report = import_users(
            rows,
            meta=RequestMeta.system(),
            dry_run=options["dry_run"],
            progress=ProgressBar(len(rows)),
        )
        verb = "would be imported" if options["dry_run"] else "imported"
        users = "user" if report.imported == 1 else "users"
        rejected = "row" if report.rejected == 1 else "rows"
        self.stdout.write(
            f"{report.imported} {users} {verb}; {report.rejected} {rejected} rejected."
        )
        for error in report.errors:
            who = f" ({error.user_id})" if error.user_id else ""
            for message in error.messages:
                self.stdout.write(f"  line {error.line}{who}: {message}")
        if report.errors:
            sys.exit(1)
