"""The server killed between steps and during one (kill -9), as operators run it.

A real ``opensspr serve`` (gunicorn, ASGI workers) on its own SQLite file. Every step is
one database transaction, so a kill leaves each step either done or not done: after a
restart the flow goes on from its last committed step with the handle the person holds,
and nothing exists half (a step's state without its audit row, a code without its step).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.captcha.conftest import pack, payload_fields

START_SECONDS = 60
SERVE = (sys.executable, "-m", "opensspr", "serve")
SETUP = """
from opensspr.accounts.services import UserData, create_user
from opensspr.core.request_meta import RequestMeta
from opensspr.policy.models import SsprPolicy
SsprPolicy.objects.update_or_create(pk=1, defaults=dict(
    scope="all", methods_required=1, allow_email=True, unlock_without_reset=False,
    helpdesk_contact=""))
create_user(data=UserData("jan@contoso.example", "Jan", auth_email="jan@mail.example"),
            meta=RequestMeta.system(), password="Initial-Pass-word-1")
"""
STATE = """
import json
from opensspr.audit.models import AuditEvent
from opensspr.channels.models import Message
from opensspr.resets.models import ResetFlow
flow = ResetFlow.objects.order_by("-pk").first()
codes = Message.objects.filter(purpose="reset.code")
print(json.dumps({
    "state": flow.state if flow else None,
    "audit": list(AuditEvent.objects.filter(activity__startswith="reset.")
                  .order_by("pk").values_list("activity", flat=True)),
    "codes": codes.count(),
    "code": codes.order_by("-pk").first().plaintext_body() if codes.exists() else "",
}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``opensspr serve`` on loopback; every URL it opens is http://127.0.0.1 (S310)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.env = dict(
            os.environ,
            OPENSSPR_DATA_DIR=str(folder / "data"),
            OPENSSPR_SECRET_KEY="kill-test-secret-key-0123456789abcdefghijklmn",
            OPENSSPR_ALLOWED_HOSTS="127.0.0.1",
            OPENSSPR_BASE_URL=f"http://127.0.0.1:{self.port}",
            OPENSSPR_DELIVERY_MODE="worker",  # the code stays in the outbox: we read it there
            DJANGO_SETTINGS_MODULE="opensspr.config.settings",
        )
        for name in ("DATABASE_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR"):
            self.env.pop(name, None)
        self.process: subprocess.Popen | None = None

    def manage(self, *args: str) -> str:
        done = subprocess.run(  # our own command line
            [sys.executable, "-m", "opensspr", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout

    def state(self) -> dict:
        return json.loads(self.manage("shell", "-c", STATE).strip().splitlines()[-1])

    def start(self) -> None:
        self.process = subprocess.Popen(  # our own command line
            [*SERVE, "--bind", f"127.0.0.1:{self.port}", "--workers", "1"],
            env=self.env,
            stdout=(self.folder / "serve.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill -9 reaches every worker
        )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=2):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the server didn't start: " + (self.folder / "serve.log").read_text())

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def call(self, path: str, body: dict | None = None, handle: str = "") -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if handle:
            headers["Authorization"] = f"Flow {handle}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url(path), data=data, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                return answer.status, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read() or b"{}")

    def captcha(self) -> str:
        challenge = self.url("/captcha/challenge")
        with urllib.request.urlopen(challenge, timeout=30) as answer:  # noqa: S310
            return pack(payload_fields(json.loads(answer.read())))


@contextmanager
def running_server(folder: Path, *, data_dir: Path | None = None) -> Iterator[Server]:
    """A migrated server with Jan set up, started; killed at the end if still running.

    ``data_dir``: where its database lives, if not in ``folder`` (the log stays there).
    """
    running = Server(folder)
    if data_dir is not None:
        running.env["OPENSSPR_DATA_DIR"] = str(data_dir)
    running.manage("migrate", "--verbosity", "0")
    running.manage("shell", "-c", SETUP)
    running.start()
    try:
        yield running
    finally:
        if running.process is not None and running.process.poll() is None:
            running.kill()


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    with running_server(tmp_path) as running:
        yield running


@pytest.mark.skipif(sys.platform == "win32", reason="gunicorn runs on POSIX only")
def test_a_kill_between_steps_loses_nothing_the_person_holds(server):
    status, flow = server.call(
        "/api/v1/resets", {"user_id": "jan@contoso.example", "captcha": server.captcha()}
    )
    assert status == 201, flow
    status, flow = server.call(
        "/api/v1/resets/current/verification",
        {"method": "email", "contact": "jan@mail.example"},
        handle=flow["handle"],
    )
    assert status == 200, flow
    server.kill()
    server.start()  # a restart: the person still holds the handle of the last answer
    code = server.state()["code"]
    answer = next(word for word in code.split() if word.isdigit() and len(word) >= 6)
    status, flow = server.call(
        "/api/v1/resets/current/verification/answer", {"answer": answer}, handle=flow["handle"]
    )
    assert status == 200 and flow["state"] == "new_password", flow


@pytest.mark.skipif(sys.platform == "win32", reason="gunicorn runs on POSIX only")
def test_a_kill_during_a_step_leaves_it_done_or_not_done_never_half(server):
    status, flow = server.call(
        "/api/v1/resets", {"user_id": "jan@contoso.example", "captcha": server.captcha()}
    )
    assert status == 201, flow
    body = json.dumps({"method": "email", "contact": "jan@mail.example"}).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(
            b"POST /api/v1/resets/current/verification HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: Flow {flow['handle']}\r\n".encode()
            + b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        server.kill()  # while the step runs, or just after: either must be whole
    state = server.state()
    if state["state"] == "verify" and state["codes"] == 1:
        assert "reset.method_started" in state["audit"]  # the step and its audit, together
    else:
        assert state["codes"] == 0 and "reset.method_started" not in state["audit"], state
    assert state["audit"].count("reset.method_started") == state["codes"]
    server.start()
    status, again = server.call("/api/v1/resets/current", handle=flow["handle"])
    # Not done: the person's handle still works. Done: the step gave a new handle, which
    # the kill kept from them; the old one is dead, and they start again (nothing half).
    assert status == (200 if state["codes"] == 0 else 401), again
