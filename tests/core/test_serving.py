"""``opensspr serve`` as operators run it: a real gunicorn master with ASGI workers."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from opensspr.core.cpus import usable_cpus
from opensspr.core.management.commands import serve as serve_command
from opensspr.core.serving import MAX_DEFAULT_WORKERS, default_workers

SERVE_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serving(tmp_path: Path, *args: str, **env_vars: str) -> Iterator[subprocess.Popen[bytes]]:
    """``opensspr serve`` on SQLite in ``tmp_path``, answering ``/healthz``; stopped after."""
    port = _free_port()
    env = dict(
        os.environ,
        OPENSSPR_DATA_DIR=str(tmp_path / "data"),
        OPENSSPR_SECRET_KEY="serve-test-secret-key-0123456789abcdefghijkl",
        OPENSSPR_ALLOWED_HOSTS="127.0.0.1",
        OPENSSPR_BASE_URL="http://127.0.0.1",
        DJANGO_SETTINGS_MODULE="opensspr.config.settings",
        **env_vars,
    )
    for name in ("DATABASE_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR", "OPENSSPR_WORKERS"):
        env.pop(name, None)
    command = [sys.executable, "-m", "opensspr", "serve", "--bind", f"127.0.0.1:{port}"]
    server = subprocess.Popen(  # our own command line
        [*command, *args, "--migrate"],
        env=env,
        stdout=(tmp_path / "serve.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + SERVE_SECONDS
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        yield server
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=SERVE_SECONDS)


@pytest.mark.skipif(sys.platform == "win32", reason="gunicorn runs on POSIX only")
def test_serve_leaves_no_metrics_folder_behind(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    with _serving(tmp_path, "--workers", "2", TMPDIR=str(temp)):
        assert [p.name[:17] for p in temp.iterdir()] == ["opensspr-metrics-"]
    assert list(temp.iterdir()) == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the embedded set-up")
def test_sqlite_gets_one_worker_by_default():
    assert default_workers() == 1


@pytest.mark.skipif(connection.vendor == "sqlite", reason="the scale-out set-up")
def test_postgresql_with_redis_gets_a_worker_per_core_two_to_four():
    assert default_workers() == min(MAX_DEFAULT_WORKERS, max(2, usable_cpus()))


@pytest.mark.skipif(connection.vendor == "sqlite", reason="the scale-out set-up")
def test_postgresql_without_a_shared_cache_gets_one_worker(settings):
    settings.REDIS_URL = ""
    assert default_workers() == 1


def test_no_workers_at_all_is_refused_before_anything_starts():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("serve", "--workers", "0")


@pytest.fixture
def served(monkeypatch) -> list[dict[str, object]]:
    """What ``serve`` would have started gunicorn with (nothing starts)."""
    calls: list[dict[str, object]] = []
    monkeypatch.setattr(serve_command, "serve", lambda **options: calls.append(options))
    monkeypatch.setattr(serve_command, "call_command", lambda *args, **options: None)
    for name in ("OPENSSPR_WORKERS", "OPENSSPR_THREADS"):
        monkeypatch.delenv(name, raising=False)
    return calls


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("OPENSSPR_WORKERS", "four", "OPENSSPR_WORKERS must be a whole number, not 'four'"),
        ("OPENSSPR_THREADS", "2.5", "OPENSSPR_THREADS must be a whole number, not '2.5'"),
        ("OPENSSPR_WORKERS", "1_000", "OPENSSPR_WORKERS must be a whole number, not '1_000'"),
        ("OPENSSPR_WORKERS", "0", "OPENSSPR_WORKERS must be at least 1"),
        ("OPENSSPR_THREADS", "-1", "OPENSSPR_THREADS must be at least 1"),
    ],
)
def test_a_count_in_the_environment_that_cannot_be_is_refused_in_words(
    served, monkeypatch, variable, value, said
):
    monkeypatch.setenv(variable, value)
    with pytest.raises(CommandError, match=said):
        call_command("serve")
    assert not served


@pytest.mark.parametrize("value", ["1_000", "+4", "\u0664", "2.0"])
def test_a_count_on_the_command_line_is_plain_digits_too(served, value):
    with pytest.raises(CommandError, match="--workers must be a whole number"):
        call_command("serve", "--workers", value)
    with pytest.raises(CommandError, match="--threads must be a whole number"):
        call_command("serve", "--threads", value)
    assert not served


def test_the_command_line_wins_over_the_environment_and_the_environment_over_the_default(
    served, monkeypatch
):
    monkeypatch.setenv("OPENSSPR_WORKERS", "3")
    monkeypatch.setenv("OPENSSPR_THREADS", "6")
    call_command("serve")
    call_command("serve", "--workers", "2", "--threads", "5")
    monkeypatch.delenv("OPENSSPR_WORKERS")
    monkeypatch.delenv("OPENSSPR_THREADS")
    call_command("serve")
    counts = [(options["workers"], options["threads"]) for options in served]
    assert counts == [(3, 6), (2, 5), (default_workers(), 4)]


@pytest.mark.skipif(sys.platform == "win32", reason="gunicorn runs on POSIX only")
def test_serve_on_sqlite_without_workers_named_runs_one(tmp_path):
    """The embedded set-up's default: one process, its cache and writer lock its own."""
    with _serving(tmp_path) as server:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert len(children) == 1, (tmp_path / "serve.log").read_text()[-2000:]
