"""``opensspr audit verify`` and ``opensspr audit seal``: the tamper-evident audit log.

``verify`` walks the keyed hash chain from its anchor to its head and names the first
broken link (an event changed, deleted, or missing at the end); exit status 1 when the
chain is broken, 0 when it holds. Unsealed events older than an hour are reported too:
the sealer runs beside deliveries (``opensspr worker``, or inline in the embedded mode).
``seal`` seals what is pending now, for a script that verifies right after writing.
``prune`` deletes sealed events older than the retention (``--days``, default
``OPENSSPR_AUDIT_RETENTION_DAYS``) and moves the chain's anchor to the last one deleted,
so the rest still verifies.
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from opensspr.audit.chain import prune, seal_pending, verify
from opensspr.core import clock


class Command(BaseCommand):
    help = "Check or seal the tamper-evident audit log."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify", "seal", "prune"])
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="prune: delete sealed events older than this many days "
            "(default OPENSSPR_AUDIT_RETENTION_DAYS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "prune":
            days = options["days"] or settings.OPENSSPR_AUDIT_RETENTION_DAYS
            if days < 1:
                raise CommandError("--days must be at least 1.")
            seal_pending(limit=1_000_000)
            deleted = prune(before=clock.now() - timedelta(days=days))
            self.stdout.write(
                f"Deleted {deleted} audit events older than {days} days; the chain still verifies "
                "from its new anchor."
            )
            return
        if options["action"] == "seal":
            sealed = seal_pending(limit=1_000_000)
            self.stdout.write(f"Sealed {sealed} audit events.")
            return
        verdict = verify()
        if verdict.unsealed_stale:
            self.stderr.write(
                f"{verdict.unsealed_stale} audit events older than an hour are not sealed yet: "
                "is the worker running?"
            )
        problem = verdict.first_break
        if problem is not None:
            where = f"event {problem.event_id}" if problem.event_id else "an event"
            raise CommandError(
                f"The audit chain is broken at link {problem.seq}: {where} {problem.problem}. "
                f"{verdict.checked} links before it hold."
            )
        self.stdout.write(f"The audit chain holds: {verdict.checked} events checked.")
