"""Impossible settings stop start-up with a clear message."""

import os
import subprocess
import sys

import pytest

BASE_ENV = {"PATH": "/usr/bin:/bin", "OPENSSPR_SECRET_KEY": "k" * 40}


def _check(extra: dict[str, str], tmp_path) -> subprocess.CompletedProcess[str]:
    env = {**BASE_ENV, "OPENSSPR_DATA_DIR": str(tmp_path), **extra}
    return subprocess.run(
        [sys.executable, "-m", "opensspr", "check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=os.getcwd(),
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OPENSSPR_SECRET_KEY": ""}, "OPENSSPR_SECRET_KEY must be set"),
        ({"DATABASE_URL": "mysql://root@127.0.0.1/x"}, "is not supported"),
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL must start with"),
        ({"OPENSSPR_BASE_URL": "sspr.example.org"}, "OPENSSPR_BASE_URL must be an absolute"),
        (
            {"OPENSSPR_SMTP_PORT": "70000", "OPENSSPR_SMTP_HOST": "mail"},
            "OPENSSPR_SMTP_PORT must be between",
        ),
        (
            {"OPENSSPR_LOCKOUT_THRESHOLD": "ten"},
            "OPENSSPR_LOCKOUT_THRESHOLD must be a whole number",
        ),
        (
            {
                "OPENSSPR_BASE_URL": "https://sspr.example.org",
                "OPENSSPR_ALLOWED_HOSTS": "other.example.org",
            },
            "opensspr.E001",
        ),
        ({"OPENSSPR_ALLOWED_HOSTS": "*"}, "opensspr.E002"),
    ],
)
def test_impossible_settings_fail_with_a_clear_message(tmp_path, env, message):
    done = _check(env, tmp_path)
    assert done.returncode != 0
    assert message in done.stderr + done.stdout


def test_sane_settings_pass_the_check(tmp_path):
    done = _check({}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout
