"""``opensspr worker``: deliver queued messages (email, SMS, calls) until stopped.

It also runs directory sync on the schedule set in the console
(``directory.schedule``; one worker at a time syncs), unless ``--no-sync``.

Needed with ``OPENSSPR_DELIVERY_MODE=worker``; useful in any mode for retries
and expiry. SIGTERM or Ctrl-C lets the message in hand finish, then exits.
``--once`` runs a single pass (cron, tests).
"""

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from opensspr.channels.services import deliver_due
from opensspr.channels.worker import run_worker
from opensspr.directory.schedule import run_due_sync, start_sync_scheduler


class Command(BaseCommand):
    help = "Deliver queued messages until stopped (SIGTERM), or once with --once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds to wait when idle (default 1)."
        )
        parser.add_argument(
            "--limit", type=int, default=100, help="Messages claimed per pass (default 100)."
        )
        parser.add_argument(
            "--no-sync", action="store_true", help="Don't run the scheduled directory sync."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            attempted = deliver_due(limit=options["limit"])
            self.stdout.write(f"{attempted} message(s) attempted.")
            if not options["no_sync"] and run_due_sync() is not None:
                self.stdout.write("Directory sync ran.")
            return
        stop = threading.Event()
        if not options["no_sync"]:
            start_sync_scheduler(stop)

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            run_worker(stop, interval=max(options["interval"], 0.05), limit=options["limit"])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
