"""``opensspr reports rollup``: fill the insights' daily rows now.

The worker does this by itself every few minutes (usage) and once a day (the
registration snapshot, a chunk per turn). The command is for a first fill, a
deployment without a worker, or after a large import: it re-computes the usage
rows of the last ``--days`` days (default 2: today and yesterday) from the audit
log and takes today's registration snapshot again, whole. Idempotent.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from opensspr.reports.rollup import rollup_recent, today
from opensspr.reports.snapshot import take_snapshot


class Command(BaseCommand):
    help = "Roll the audit log up into the daily rows the insights read."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["rollup"])
        parser.add_argument(
            "--days", type=int, default=2, help="usage days to re-compute, today included"
        )
        parser.add_argument(
            "--no-snapshot", action="store_true", help="leave the registration snapshot alone"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["days"] < 1:
            raise CommandError("--days must be at least 1.")
        days = rollup_recent(days=options["days"])
        self.stdout.write(f"Rolled up usage from {days[0]} to {days[-1]}.")
        if not options["no_snapshot"]:
            row = take_snapshot(today())
            self.stdout.write(
                f"Registration on {row.day}: {row.capable} of {row.users} people capable."
            )
