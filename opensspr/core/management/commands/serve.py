import os

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from opensspr.core.serving import default_workers, serve


def _workers_from_environment() -> int | None:
    named = os.environ.get("OPENSSPR_WORKERS", "").strip()
    return int(named) if named else None  # None: serve's default for the set-up


class Command(BaseCommand):
    help = "Serve OpenSSPR under gunicorn (production). Runs the system checks first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("OPENSSPR_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers",
            type=int,
            default=_workers_from_environment(),
            help="worker processes (default: 1 on SQLite; with Redis, one per core, 2 to 4)",
        )
        parser.add_argument(
            "--threads", type=int, default=int(os.environ.get("OPENSSPR_THREADS", "4"))
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
        named = options["workers"]
        workers = default_workers() if named is None else int(str(named))
        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        call_command("check", fail_level="ERROR")
        if options["migrate"]:
            call_command("migrate", interactive=False)
        serve(
            bind=str(options["bind"]),
            workers=workers,
            threads=int(str(options["threads"])),
            tls=(certfile, keyfile) if certfile else None,
        )
