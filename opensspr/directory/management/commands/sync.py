"""``opensspr sync``: import and refresh users and groups from the on-premises directory.

Exit status: 0 the run completed; 1 it completed but some entries were
reported (they were skipped, the rest was synced); 2 the directory is not
configured or could not be read (nothing after the failure was written, the
change mark is unchanged).
"""

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from opensspr.core.request_meta import RequestMeta
from opensspr.directory.errors import DirectoryError
from opensspr.directory.sync import SyncNotConfiguredError, count_synced_users, run_sync


class Progress:
    """Entries read so far on stderr, as a bar when the size is known (the last run's)."""

    def __init__(self, expected: int, width: int = 30) -> None:
        self.expected, self.width, self._last = expected, width, 0.0

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self._last < 0.1:
            return
        self._last = now
        if self.expected:
            filled = min(self.width, int(self.width * done / self.expected))
            bar = "#" * filled + "-" * (self.width - filled)
            sys.stderr.write(f"\r[{bar}] {done}/~{self.expected} entries")
        else:
            sys.stderr.write(f"\r{done} entries read")
        sys.stderr.flush()

    def close(self) -> None:
        if self._last:
            sys.stderr.write("\n")


class Command(BaseCommand):
    help = "Import and refresh users and groups from the configured on-premises directory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--full",
            action="store_true",
            help="read every entry (also finds deleted ones), not only the changed ones",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # A bar only when the run reads everything (its size is about the last run's).
        progress = Progress(count_synced_users() if options["full"] else 0)
        try:
            report = run_sync(meta=RequestMeta.system(), full=options["full"], progress=progress)
        except SyncNotConfiguredError as exc:
            raise CommandError(f"{exc}; configure it in the console first.", returncode=2) from exc
        except DirectoryError as exc:
            raise CommandError(
                f"The sync stopped: {exc.code} ({exc.reason}). The next run reads again.",
                returncode=2,
            ) from exc
        finally:
            progress.close()
        summary = report.summary()
        kind = "Full" if report.full else "Incremental"
        self.stdout.write(
            f"{kind} sync: {summary['users_read']} users read, {summary['users_created']} created, "
            f"{summary['users_updated']} updated, {summary['users_disabled']} disabled, "
            f"{summary['users_enabled']} enabled; {summary['groups_read']} groups read; "
            f"{summary['roles_granted']} roles granted, {summary['roles_removed']} removed; "
            f"{len(report.errors)} entries reported."
        )
        if report.refused_mass_disable:
            self.stdout.write(
                "  No user was read, so nobody was disabled: check the base DN and the filter."
            )
        for error in report.errors:
            for message in error.messages:
                self.stdout.write(f"  {error.dn}: {message}")
        if report.errors:
            sys.exit(1)
