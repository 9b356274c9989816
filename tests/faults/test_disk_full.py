"""A full disk under the embedded default (F11b): a clear 503, nothing half done, then recovery.

The real ``opensspr serve`` keeps its SQLite database on a small tmpfs of its own, and the
test fills that filesystem to the last block, exactly as a full disk would be: SQLite then
answers SQLITE_FULL ("database or disk is full") for any write that needs a new block.

A write needs a new block only when the write-ahead log has to grow, so the test first
truncates the log (``wal_checkpoint(TRUNCATE)``, what SQLite itself does on a quiet moment):
from then on every committed step needs fresh space, and every step meets the full disk.
A step's writes and its audit row are one transaction, so the refused step leaves no row
behind; once space is freed the same request, with the same handle, goes through.

Mounting a tmpfs needs root (the CI machines run as root); elsewhere the test skips.
"""

import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_component
from tests.faults.test_server_killed import Server, running_server

DISK_BYTES = 24 * 1024 * 1024

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="tmpfs is Linux's"),
    pytest.mark.skipif(
        os.environ.get("OPENSSPR_TEST_CONFIG") == "scale-out",
        reason="a fault of the embedded default (SQLite); PostgreSQL has its own disk",
    ),
]


def _mount_small_disk(where: Path) -> bool:
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    return mounted.returncode == 0


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    require_component("a tmpfs mount (root)", os.geteuid() == 0 and _mount_small_disk(disk))
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.fixture
def server(tmp_path, small_disk) -> Iterator[Server]:
    # Its log stays on the big disk, its data goes on the small one.
    with running_server(tmp_path, data_dir=small_disk) as running:
        yield running


def _fill(disk: Path) -> Path:
    """Write a file until the filesystem refuses another byte."""
    filler = disk / "filler"
    block = b"\0" * 65536
    with filler.open("wb", buffering=0) as out:
        with contextlib.suppress(OSError):  # ENOSPC: the disk is full
            while True:
                out.write(block)
        with contextlib.suppress(OSError):
            while True:
                out.write(b"\0" * 512)
    return filler


def _read(database: Path, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        return db.execute(sql).fetchall()


def _state(database: Path) -> dict:
    return {
        "flow": _read(database, "SELECT state FROM resets_resetflow ORDER BY id DESC LIMIT 1"),
        "codes": _read(database, "SELECT count(*) FROM channels_message")[0][0],
        "started": _read(
            database,
            "SELECT count(*) FROM audit_auditevent WHERE activity = 'reset.method_started'",
        )[0][0],
    }


@pytest.mark.skipif(sys.platform == "win32", reason="gunicorn runs on POSIX only")
def test_a_full_disk_refuses_the_step_whole_and_the_same_step_works_once_space_returns(
    server, small_disk
):
    database = small_disk / "opensspr.sqlite3"
    status, flow = server.call(
        "/api/v1/resets", {"user_id": "jan@contoso.example", "captcha": server.captcha()}
    )
    assert status == 201, flow
    with contextlib.closing(sqlite3.connect(database)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = _state(database)
    filler = _fill(small_disk)

    body = {"method": "email", "contact": "jan@mail.example"}
    status, problem = server.call("/api/v1/resets/current/verification", body, flow["handle"])

    assert status == 503, problem
    assert problem["status"] == 503 and problem.get("correlation_id"), problem
    assert "disk" not in str(problem).lower()  # the person learns nothing of our insides
    assert _state(database) == before  # no code, no audit row, the flow where it was
    assert "OperationalError SQLITE_FULL" in (server.folder / "serve.log").read_text()

    filler.unlink()
    status, again = server.call("/api/v1/resets/current/verification", body, flow["handle"])
    assert status == 200 and again["state"] == "verify", again
    after = _state(database)
    assert after["codes"] == before["codes"] + 1
    assert after["started"] == before["started"] + 1
