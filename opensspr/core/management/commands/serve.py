import os

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from opensspr.core.serving import default_workers, serve


def _count(option: object, variable: str, default: int | None) -> int | None:
    """The command line's number, else the environment's, else ``default``; at least 1."""
    if option is not None:
        count, source = int(str(option)), f"--{variable.removeprefix('OPENSSPR_').lower()}"
    else:
        named = os.environ.get(variable, "").strip()
        if not named:
            return default
        source = variable
        try:
            count = int(named)
        except ValueError:
            raise CommandError(f"{variable} must be a whole number, not {named!r}.") from None
    if count < 1:
        raise CommandError(f"{source} must be at least 1.")
    return count


class Command(BaseCommand):
    help = "Serve OpenSSPR under gunicorn (production). Runs the system checks first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("OPENSSPR_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers",
            type=int,
            help="worker processes (default: OPENSSPR_WORKERS, else 1 on SQLite; with Redis, "
            "one per core, 2 to 4)",
        )
        parser.add_argument(
            "--threads", type=int, help="request threads a worker (default: OPENSSPR_THREADS, 4)"
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
        workers = _count(options["workers"], "OPENSSPR_WORKERS", None) or default_workers()
        threads = _count(options["threads"], "OPENSSPR_THREADS", 4) or 4
        call_command("check", fail_level="ERROR")
        if options["migrate"]:
            call_command("migrate", interactive=False)
        serve(
            bind=str(options["bind"]),
            workers=workers,
            threads=threads,
            tls=(certfile, keyfile) if certfile else None,
        )
