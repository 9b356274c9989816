"""Settings for the type checker only: the real settings module, with placeholders.

The django-stubs mypy plugin imports a settings module to learn the installed apps and
models. The real one refuses to load without ``OPENSSPR_SECRET_KEY`` (as it must in
production), and crashed the plugin ("Error constructing plugin instance of
NewSemanalDjangoPlugin") wherever none was set. This module lives under ``tests/``, outside
the installed package, so no deployment can point ``DJANGO_SETTINGS_MODULE`` at it; nothing
here serves a request or touches a database.
"""

import os

os.environ.setdefault("OPENSSPR_SECRET_KEY", "type-checking-only-not-a-secret-0123456789")
# An in-memory SQLite database: importing settings creates no data folder.
os.environ.setdefault("DATABASE_URL", "sqlite://:memory:")

from opensspr.config.settings import *  # noqa: F403  (the real settings, unchanged)
