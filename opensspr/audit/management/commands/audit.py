"""``opensspr audit verify`` and ``opensspr audit seal``: the tamper-evident audit log.

``verify`` walks the keyed hash chain from its anchor to its head and names the first
broken link (an event changed, deleted, or missing at the end); exit status 1 when the
chain is broken, 0 when it holds. Unsealed events older than an hour are reported too:
the sealer runs beside deliveries (``opensspr worker``, or inline in the embedded mode).
``seal`` seals what is pending now, for a script that verifies right after writing.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from opensspr.audit.chain import seal_pending, verify


class Command(BaseCommand):
    help = "Check or seal the tamper-evident audit log."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify", "seal"])

    def handle(self, *args: Any, **options: Any) -> None:
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
