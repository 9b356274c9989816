import os
import re

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from opensspr.core.serving import default_workers, serve


def _count(option: object, variable: str) -> int | None:
    """The command line's number, else the environment's, else None; at least 1.

    Plain ASCII digits only: ``int`` would also take ``1_000``, ``+4`` or other scripts'
    digits, and a typo would start a thousand workers."""
    if option is not None:
        text, source = str(option).strip(), f"--{variable.removeprefix('OPENSSPR_').lower()}"
    else:
        text, source = os.environ.get(variable, "").strip(), variable
        if not text:
            return None
    if not re.fullmatch(r"-?[0-9]+", text):
        raise CommandError(f"{source} must be a whole number, not {text!r}.")
    if int(text) < 1:
        raise CommandError(f"{source} must be at least 1.")
    return int(text)


class Command(BaseCommand):
    help = "Serve OpenSSPR under gunicorn (production). Runs the system checks first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("OPENSSPR_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers",
            help="worker processes (default: OPENSSPR_WORKERS, else 1 on SQLite; with Redis, "
            "one per core, 2 to 4)",
        )
        parser.add_argument(
            "--threads", help="request threads a worker (default: OPENSSPR_THREADS, 4)"
        )
        parser.add_argument("--migrate", action="store_true", help="apply migrations first")
        parser.add_argument(
            "--certfile",
            default=os.environ.get("OPENSSPR_TLS_CERT_FILE", ""),
            help="serve HTTPS with this certificate (PEM, chain included); with --keyfile",
        )
        parser.add_argument(
            "--keyfile",
            default=os.environ.get("OPENSSPR_TLS_KEY_FILE", ""),
            help="the certificate's private key (PEM)",
        )

    def handle(self, *args: object, **options: object) -> None:
        certfile, keyfile = str(options["certfile"]), str(options["keyfile"])
        if bool(certfile) != bool(keyfile):
            raise CommandError("HTTPS needs both --certfile and --keyfile.")
        workers = _count(options["workers"], "OPENSSPR_WORKERS") or default_workers()
        threads = _count(options["threads"], "OPENSSPR_THREADS") or 4
        call_command("check", fail_level="ERROR")
        if options["migrate"]:
            call_command("migrate", interactive=False)
        serve(
            bind=str(options["bind"]),
            workers=workers,
            threads=threads,
            tls=(certfile, keyfile) if certfile else None,
        )
