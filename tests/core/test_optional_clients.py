"""A server loads the clients of optional services only when it uses them.

ldap3 (with pyasn1), the Twilio SDK and the Redis client cost about 13, 8 and
8 MB in every process that imports them. The embedded set-up (no directory,
no Twilio, no Redis) must not pay for them: issue 8's 150 MB per server process.
Checked in a fresh interpreter, after Django's set-up and every URL pattern (so
every view, console page and app's ``ready`` is imported), as a server starts.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from redis.exceptions import ConnectionError as RedisConnectionError

from opensspr.core.outages import is_outage

OPTIONAL = ("ldap3", "pyasn1", "twilio", "redis")

PROBE = """
import json, sys
import django
django.setup()
from django.urls import get_resolver
get_resolver().url_patterns
from opensspr.directory.sync import open_reader  # what the worker's schedule imports
from opensspr.core.outages import is_outage
assert not is_outage(ValueError())
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def _modules_at_start(tmp_path: Path, **env: str) -> set[str]:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "opensspr.config.settings",
        "OPENSSPR_DATA_DIR": str(tmp_path),
        "OPENSSPR_SECRET_KEY": "k" * 50,
        "REDIS_URL": "",
        "DATABASE_URL": "",
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_embedded_set_up_loads_no_optional_client(tmp_path):
    loaded = _modules_at_start(tmp_path)
    assert "django" in loaded  # the probe really ran the set-up
    assert not loaded & set(OPTIONAL), sorted(loaded & set(OPTIONAL))


def test_the_outage_check_knows_redis_once_it_is_loaded():
    cause = RedisConnectionError("refused")
    outer = RuntimeError("the cache failed")
    outer.__cause__ = cause
    assert is_outage(outer)
    assert is_outage(cause)
    assert not is_outage(RuntimeError("a bug"))
