import os
import shlex
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from opensspr.core.serving import serve
from opensspr.demo.seed import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Create or reuse the demo database, seed the demo organisation and serve it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="prepare only, don't serve")

    def handle(self, *args: object, **options: object) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        seed = seed_demo()
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
            out.write(f"  {account.data.user_id:<44} {account.note}")
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
        out.write("\nPress Ctrl+C to stop.\n")
        if not options["no_serve"]:
            serve(bind=f"127.0.0.1:{options['port']}", workers=1, threads=8)


def _python() -> str:
    """The interpreter that has pyotp: this one (the project's .venv), as a newcomer types it."""
    executable = Path(sys.executable)
    try:
        shown = os.path.relpath(executable)
    except ValueError:  # another drive (Windows)
        shown = str(executable)
    return shlex.quote(shown if not shown.startswith("..") else str(executable))
