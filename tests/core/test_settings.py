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
        ({"OPENSSPR_DEFAULT_PHONE_REGION": "XX"}, "OPENSSPR_DEFAULT_PHONE_REGION must be"),
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
        ({"OPENSSPR_AUDIT_SYSLOG_URL": "https://siem:6514"}, "OPENSSPR_AUDIT_SYSLOG_URL must be"),
        (
            {"OPENSSPR_AUDIT_SYSLOG_URL": "tcp://user:pw@siem:601"},
            "OPENSSPR_AUDIT_SYSLOG_URL must not carry credentials",
        ),
        (
            {"OPENSSPR_AUDIT_SYSLOG_CA_FILE": "/nonexistent/ca.pem"},
            "OPENSSPR_AUDIT_SYSLOG_CA_FILE must name a readable file",
        ),
        ({"OPENSSPR_AUDIT_SYSLOG_FACILITY": "24"}, "OPENSSPR_AUDIT_SYSLOG_FACILITY must be"),
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


def _settings_value(extra: dict[str, str], tmp_path, expression: str) -> str:
    env = {
        **BASE_ENV,
        "OPENSSPR_DATA_DIR": str(tmp_path),
        **extra,
        "DJANGO_SETTINGS_MODULE": "opensspr.config.settings",
    }
    code = (
        f"import django; django.setup(); from django.conf import settings as s; print({expression})"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=os.getcwd(),
    )
    return done.stdout.strip()


def test_https_base_url_hardens_cookies_and_transport(tmp_path):
    https = {"OPENSSPR_BASE_URL": "https://sspr.example.org"}
    expression = (
        "s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_SECURE, "
        "s.CSRF_COOKIE_NAME, s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, "
        "s.CSRF_TRUSTED_ORIGINS, s.ALLOWED_HOSTS"
    )
    assert _settings_value(https, tmp_path, expression) == (
        "True __Host-opensspr-session True __Host-opensspr-csrf 31536000 True "
        "['https://sspr.example.org'] ['sspr.example.org']"
    )
    assert _settings_value({}, tmp_path, "s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_NAME") == (
        "False opensspr-session"
    )


def test_redis_url_moves_cache_and_sessions_to_redis(tmp_path):
    expression = "s.CACHES['default']['BACKEND'], s.SESSION_ENGINE"
    assert _settings_value({"REDIS_URL": "redis://127.0.0.1:6379/3"}, tmp_path, expression) == (
        "django.core.cache.backends.redis.RedisCache django.contrib.sessions.backends.cache"
    )


def test_open_metrics_on_a_public_host_is_warned_about(tmp_path):
    public = {"OPENSSPR_BASE_URL": "https://sspr.example.org"}
    assert "opensspr.W002" in _check(public, tmp_path).stderr
    assert "opensspr.W002" not in _check({**public, "OPENSSPR_METRICS_TOKEN": "t"}, tmp_path).stderr


def test_a_syslog_url_without_a_port_gets_the_transports_own(tmp_path):
    def url(value: str) -> str:
        env = {"OPENSSPR_AUDIT_SYSLOG_URL": value}
        return _settings_value(env, tmp_path, "s.OPENSSPR_AUDIT_SYSLOG_URL")

    assert url("udp://siem.example.org") == "udp://siem.example.org:514"
    assert url("tcp://siem.example.org") == "tcp://siem.example.org:601"
    assert url("tls://siem.example.org") == "tls://siem.example.org:6514"
    assert url("tls://[2001:db8::5]:10514") == "tls://[2001:db8::5]:10514"


def test_plaintext_syslog_to_another_host_is_warned_about(tmp_path):
    remote = {"OPENSSPR_AUDIT_SYSLOG_URL": "tcp://siem.example.org"}
    assert "opensspr.audit.W001" in _check(remote, tmp_path).stderr
    local = {"OPENSSPR_AUDIT_SYSLOG_URL": "udp://127.0.0.1"}
    assert "opensspr.audit.W001" not in _check(local, tmp_path).stderr
    (tmp_path / "ca.pem").write_text("unused")
    ca = {"OPENSSPR_AUDIT_SYSLOG_CA_FILE": str(tmp_path / "ca.pem")}
    assert "opensspr.audit.W002" in _check({**local, **ca}, tmp_path).stderr
