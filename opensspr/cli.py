"""The ``opensspr`` command: Django's manage.py with our settings, plus our commands.

``opensspr demo`` prepares its own data folder (SQLite database, a generated
secret key kept in a 0600 file) *before* settings load, so a newcomer needs no
configuration at all; ``--directory openldap`` keeps its own folder
(``var/demo-openldap``), since its people are synced rather than created here.
Hyphenated names (``import-users``) map to the Django
command modules (``import_users``).
"""

import os
import secrets
import sys
from pathlib import Path

from django.core.management import execute_from_command_line

_ALIASES = {"import-users": "import_users"}
_DEMO_DIR_DEFAULT = Path("var") / "demo"


def _demo_environment(argv: list[str]) -> None:
    default = _DEMO_DIR_DEFAULT
    if any(arg == "--directory" or arg.startswith("--directory=") for arg in argv):
        default = default.with_name("demo-openldap")
    data_dir = Path(os.environ.get("OPENSSPR_DATA_DIR", default)).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    key_file = data_dir / "secret-key"
    if not key_file.exists():
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(48))
    port = "8000"
    for i, arg in enumerate(argv):
        if arg == "--port" and i + 1 < len(argv):
            port = argv[i + 1]
        elif arg.startswith("--port="):
            port = arg.split("=", 1)[1]
    os.environ["OPENSSPR_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("OPENSSPR_SECRET_KEY", key_file.read_text().strip())
    os.environ.setdefault("OPENSSPR_BASE_URL", f"http://127.0.0.1:{port}")
    os.environ.setdefault("OPENSSPR_ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ.setdefault("OPENSSPR_ORGANISATION_NAME", "Lakeside")
    # The demo has no mail or SMS provider: codes are read at /outbox/.
    os.environ.setdefault("OPENSSPR_OUTBOX_PAGE", "true")


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv if argv is None else argv)
    if len(args) > 1:
        args[1] = _ALIASES.get(args[1], args[1])
        if args[1] == "demo":
            _demo_environment(args[2:])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opensspr.config.settings")
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
