import os
import shlex
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from opensspr.core.serving import serve
from opensspr.demo.directory import (
    GUEST_NOTE,
    NOTES,
    DemoDirectory,
    DirectoryDemoError,
    running_directory,
    set_up_directory,
)
from opensspr.demo.seed import DEMO_PASSWORD, DemoSeed, seed_demo


class Command(BaseCommand):
    help = "Create or reuse the demo database, seed the demo organisation and serve it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="prepare only, don't serve")
        parser.add_argument(
            "--directory",
            choices=["openldap"],
            help="keep the people in a private OpenLDAP (slapd) started for the demo, synced "
            "from it, with password writeback",
        )

    def handle(self, *args: object, **options: object) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        if not options["directory"]:
            self._show(seed_demo())
            self._serve(options)
            return
        try:
            with running_directory() as directory:
                set_up_directory(directory)
                assert directory.seed is not None  # set by set_up_directory
                self._show(directory.seed, directory)
                self._serve(options)
        except DirectoryDemoError as exc:
            raise CommandError(str(exc)) from exc

    def _serve(self, options: dict[str, object]) -> None:
        self.stdout.write("\nPress Ctrl+C to stop.\n")
        if not options["no_serve"]:
            serve(bind=f"127.0.0.1:{options['port']}", workers=1, threads=4)

    def _show(self, seed: DemoSeed, directory: DemoDirectory | None = None) -> None:
        base = settings.OPENSSPR_BASE_URL
        out = self.stdout
        out.write(self.style.SUCCESS(f"\nOpenSSPR demo — data in {settings.DATA_DIR}\n"))
        out.write(f"  Sign in:          {base}/signin")
        out.write(f"  In Dutch:         {base}/signin?mkt=nl-nl")
        out.write(f"  Console (admins): {base}/console/")
        out.write(f"  Outbox (codes):   {base}/outbox/   (every email, text and call)")
        out.write(f"  Health:           {base}/healthz  {base}/readyz  {base}/metrics\n")
        out.write(f"  Reset a password: {base}/reset   (codes arrive in the outbox)")
        out.write(f"  Every demo account's password is: {DEMO_PASSWORD}\n")
        for account in seed.accounts:
            note = account.note
            if directory is not None:
                note = NOTES.get(account.data.user_id, note)
                note += "" if account.data.user_type == "member" else GUEST_NOTE
            out.write(f"  {account.data.user_id:<44} {note}")
        out.write(
            f"\n  {seed.authenticator_user} has an authenticator app; add this secret to any "
            f'authenticator app (or run: {_python()} -c "import pyotp; '
            f"print(pyotp.TOTP('{seed.authenticator_secret}').now())\"):\n"
            f"    {seed.authenticator_secret}"
        )
        out.write(
            f"\n  {seed.authenticator_user} also has security answers. Questions are off in "
            "the demo policy; to try them, set two methods required and tick Security "
            "questions in the console's reset policy. The answers:"
        )
        for question, answer in seed.answers.items():
            out.write(f"    {question} {answer}")
        if directory is not None:
            self._show_directory(directory)

    def _show_directory(self, directory: DemoDirectory) -> None:
        out = self.stdout
        report = directory.report
        synced = report.users.read if report else 0
        out.write(
            self.style.SUCCESS(f"\nOpenLDAP with ppolicy at {directory.url}")
            + f" (slapd in {directory.server.folder}, removed when the demo stops)"
        )
        out.write(
            f"  The {synced} members above were synced from it (opensspr sync): their passwords "
            "live in the directory. Sign-in checks them there; a reset, change or unlock is "
            "written back. Administrators come from the directory groups Administrators and "
            "Helpdesk (console: On-premises directory)."
        )
        out.write(
            "  See writeback happen: reset Jan's password at /reset (or change it after signing "
            "in), then look at his entry (pwdChangedTime moves; after five wrong passwords "
            "pwdAccountLockedTime appears, and an unlock at /reset removes it):"
        )
        out.write(f"    {directory.ldapsearch()}")
        out.write("  and sign in to the directory with the new password (it asks for it):")
        out.write(f"    {directory.ldapwhoami()}")


def _python() -> str:
    """The interpreter that has pyotp: this one (the project's .venv), as a newcomer types it."""
    executable = Path(sys.executable)
    try:
        shown = os.path.relpath(executable)
    except ValueError:  # another drive (Windows)
        shown = str(executable)
    return shlex.quote(shown if not shown.startswith("..") else str(executable))
