"""``opensspr directory``: check the on-premises directory, or settle pending writes.

``doctor`` runs the writeback doctor against each configured server and lists
its findings, errors first, each with its cause and its fix (``--json`` for
scripts). Exit status: 0 no errors (warnings allowed), 1 at least one error,
2 no directory is configured.

``reconcile`` settles password writes whose answer was lost (a crash, a cut
connection), as the worker does every minute: it reads the directory, never
writes a password again, and prints how many it settled.
"""

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from opensspr.directory.doctor import (
    DoctorNotConfiguredError,
    ServerReport,
    has_errors,
    run_directory_doctor,
)
from opensspr.directory.ldap.findings import SEVERITY_ORDER, Severity
from opensspr.directory.writeback import reconcile_pending

HEADINGS = {Severity.ERROR: "Errors", Severity.WARNING: "Warnings", Severity.OK: "OK"}


class Command(BaseCommand):
    help = "Check the on-premises directory (doctor) or settle pending writes (reconcile)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        doctor = actions.add_parser("doctor", help="check the directory for writeback")
        doctor.add_argument("--user", help="also look up this user ID (must match one entry)")
        doctor.add_argument("--json", action="store_true", help="print the findings as JSON")
        actions.add_parser("reconcile", help="settle password writes whose answer was lost")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "reconcile":
            settled = reconcile_pending()
            self.stdout.write(f"Settled {settled} pending directory write(s).")
            return
        try:
            reports = run_directory_doctor(sample_user_id=options.get("user"))
        except DoctorNotConfiguredError as exc:
            raise CommandError(f"{exc}; configure it in the console first.", returncode=2) from exc
        if options["json"]:
            self.stdout.write(json.dumps([_as_json(report) for report in reports], indent=2))
        else:
            for report in reports:
                self._print(report)
        if has_errors(reports):
            sys.exit(1)

    def _print(self, report: ServerReport) -> None:
        self.stdout.write(report.url)
        for severity in SEVERITY_ORDER:
            found = [f for f in report.findings if f.severity is severity]
            if not found:
                continue
            self.stdout.write(f"  {HEADINGS[severity]} ({len(found)})")
            for finding in found:
                line = f"    [{finding.code}] {finding.subject}: {finding.cause}"
                self.stdout.write(f"{line} Fix: {finding.fix}" if finding.fix else line)


def _as_json(report: ServerReport) -> dict[str, Any]:
    return {
        "url": report.url,
        "severity": str(report.severity),
        "findings": [finding.as_dict() for finding in report.findings],
    }
