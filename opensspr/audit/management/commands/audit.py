"""``opensspr audit verify|seal|prune|forward``: the tamper-evident audit log.

``verify`` walks the keyed hash chain from its anchor to its head and names the first
broken link (an event changed, deleted, or missing at the end); exit status 1 when the
chain is broken, 0 when it holds. Unsealed events older than an hour are reported too:
the sealer runs beside deliveries (``opensspr worker``, or inline in the embedded mode).
``seal`` seals what is pending now, for a script that verifies right after writing.
``prune`` deletes sealed events older than the retention (``--days``, default
``OPENSSPR_AUDIT_RETENTION_DAYS``) and moves the chain's anchor to the last one deleted,
so the rest still verifies; with syslog forwarding on, it keeps what isn't forwarded yet.
``forward`` sends what syslog forwarding hasn't sent yet, now (the worker does it every
few seconds); exit status 1 when the receiver can't be reached. ``forward --status`` says
where forwarding stands without sending anything.
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from opensspr.audit.chain import prune, seal_pending, verify
from opensspr.audit.forwarding import Restart, configured_target, forward_pending, get_status
from opensspr.core import clock


class Command(BaseCommand):
    help = "Check, seal, prune or forward to syslog the tamper-evident audit log."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify", "seal", "prune", "forward"])
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="prune: delete sealed events older than this many days "
            "(default OPENSSPR_AUDIT_RETENTION_DAYS)",
        )
        restart = parser.add_mutually_exclusive_group()
        restart.add_argument(
            "--status",
            action="store_true",
            help="forward: say where forwarding stands and how many events wait; send nothing",
        )
        restart.add_argument(
            "--from-start",
            action="store_true",
            help="forward: send every event still held, from the oldest (again, if sent before)",
        )
        restart.add_argument(
            "--from-now",
            action="store_true",
            help="forward: skip what wasn't sent yet and go on from the newest event",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "prune":
            self._prune(options["days"] or settings.OPENSSPR_AUDIT_RETENTION_DAYS)
        elif action == "seal":
            sealed = seal_pending(limit=1_000_000)
            self.stdout.write(f"Sealed {sealed} audit events.")
        elif action == "forward":
            if options["status"]:
                self._status()
                return
            restart: Restart = (
                "start" if options["from_start"] else ("now" if options["from_now"] else "")
            )
            self._forward(restart)
        else:
            self._verify()

    def _prune(self, days: int) -> None:
        if days < 1:
            raise CommandError("--days must be at least 1.")
        seal_pending(limit=1_000_000)
        status = get_status()
        keep_after = status.last_seq if status.destination and status.started else None
        deleted = prune(before=clock.now() - timedelta(days=days), keep_after=keep_after)
        self.stdout.write(
            f"Deleted {deleted} audit events older than {days} days; the chain still verifies "
            "from its new anchor."
        )
        if keep_after is not None and status.waiting:
            self.stdout.write(
                f"Events after link {keep_after} wait for syslog and were kept "
                f"({status.waiting} of them)."
            )

    def _forward(self, restart: Restart) -> None:
        target = configured_target()
        if target is None:
            raise CommandError("Syslog forwarding is off: set OPENSSPR_AUDIT_SYSLOG_URL.")
        seal_pending(limit=1_000_000)
        report = forward_pending(force=True, restart=restart, max_events=None)
        if not report.ran:
            raise CommandError("Another forwarder is sending right now; try again in a moment.")
        where = target.destination
        if report.error:
            raise CommandError(
                f"Forwarded {report.forwarded} audit events to {where}, then stopped: "
                f"{report.error}. {report.waiting} events wait after link {report.last_seq}; "
                "the next run catches up."
            )
        self.stdout.write(
            f"Forwarded {report.forwarded} audit events to {where}; "
            f"caught up at link {report.last_seq}."
        )

    def _status(self) -> None:
        status = get_status()
        if not status.destination:
            raise CommandError("Syslog forwarding is off: set OPENSSPR_AUDIT_SYSLOG_URL.")
        if not status.started:
            self.stdout.write(
                f"Forwarding to {status.destination} hasn't run yet: the worker starts it at "
                "the newest event (or run `opensspr audit forward --from-start`)."
            )
            return
        success = (
            f"{status.last_success_at:%Y-%m-%d %H:%M:%S %Z}" if status.last_success_at else "never"
        )
        self.stdout.write(
            f"Forwarding to {status.destination}: at link {status.last_seq}, "
            f"{status.waiting} events wait; last success: {success}."
        )
        if status.last_error:
            self.stdout.write(
                f"Last error ({status.last_error_at:%Y-%m-%d %H:%M:%S %Z}): {status.last_error}"
            )

    def _verify(self) -> None:
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
