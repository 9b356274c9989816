"""The connectors import without Django, so the on-premises agent can reuse them."""

import os
import subprocess
import sys

CHECK = (
    "import sys, opensspr.directory.ldap, opensspr.directory.ldap.doctor,"
    " opensspr.directory.errors, opensspr.directory.values;"
    "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'));"
    "print(loaded); sys.exit(1 if loaded else 0)"
)


def test_the_ldap_package_loads_without_django() -> None:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    command = [sys.executable, "-c", CHECK]
    done = subprocess.run(command, check=False, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
