"""Settings for the test suite: the real settings module, with test environment defaults.

The configuration under test (embedded SQLite, or PostgreSQL + Redis) comes from
``DATABASE_URL`` / ``REDIS_URL`` exactly as in production; ``./dev test`` runs both.
"""

import os
import tempfile

os.environ.setdefault("OPENSSPR_SECRET_KEY", "test-only-secret-key-0123456789abcdefghijklmnop")
os.environ.setdefault("OPENSSPR_DATA_DIR", tempfile.mkdtemp(prefix="opensspr-test-"))
os.environ.setdefault("OPENSSPR_BASE_URL", "http://localhost")
os.environ.setdefault("OPENSSPR_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("OPENSSPR_ORGANISATION_NAME", "Contoso")

from opensspr.config.settings import *  # noqa: F403  (the real settings, unchanged)

# Deliver inline messages in the test's own thread, so a test reads them at once.
OPENSSPR_INLINE_DELIVERY_IN_BACKGROUND = False
# No response-time floor: thousands of reset steps would each wait for it.
# tests/portal/test_reset_timing.py switches it on to show that it works.
OPENSSPR_RESET_MIN_RESPONSE_MS = 0
