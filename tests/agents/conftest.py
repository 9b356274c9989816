"""A real ``opensspr serve``, real agent processes and a private slapd, all on loopback.

The served site runs on its own SQLite file (embedded run) or its own
PostgreSQL database (scale-out run); people's and administrators' actions run
in ``opensspr shell`` processes against the same data (``driver``), so every
job crosses the wire between three processes exactly as in production.
Timings are shortened: a job expires after 4 s, a lease after 6 s, an agent
not heard from for 12 s is disconnected, heartbeats come every second.
"""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.directory import slapd
from tests.directory.proxy import TcpProxy

START_SECONDS = 60
JOB_SECONDS, LEASE_SECONDS, WINDOW_SECONDS = 4, 6, 12


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Any], *, seconds: float = 20, every: float = 0.3) -> Any:
    """Poll ``check`` until it returns something truthy; its last value otherwise fails."""
    deadline = time.monotonic() + seconds
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(every)
        value = check()
    assert value, f"not within {seconds} s: {value!r}"
    return value


class Site:
    """``opensspr serve`` on loopback and a way to act on its data."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(
            os.environ,
            OPENSSPR_DATA_DIR=str(folder / "data"),
            OPENSSPR_SECRET_KEY="agent-test-secret-key-0123456789abcdefghijklmn",
            OPENSSPR_ALLOWED_HOSTS="127.0.0.1",
            OPENSSPR_BASE_URL=self.url,
            OPENSSPR_DELIVERY_MODE="worker",
            OPENSSPR_RESET_MIN_RESPONSE_MS="0",
            OPENSSPR_AGENT_JOB_SECONDS=str(JOB_SECONDS),
            OPENSSPR_AGENT_LEASE_SECONDS=str(LEASE_SECONDS),
            OPENSSPR_AGENT_WINDOW_SECONDS=str(WINDOW_SECONDS),
            OPENSSPR_AGENT_HEARTBEAT_SECONDS="1",
            DJANGO_SETTINGS_MODULE="opensspr.config.settings",
        )
        for name in ("DATABASE_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR"):
            self.env.pop(name, None)
        self.database = ""
        if os.environ.get("OPENSSPR_TEST_CONFIG") == "scale-out" and os.environ.get("DATABASE_URL"):
            self.database = f"agents_{uuid.uuid4().hex[:10]}"
            base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
            self._psql(f"CREATE DATABASE {self.database}")
            self.env["DATABASE_URL"] = f"{base}/{self.database}"
            if os.environ.get("REDIS_URL"):
                self.env["REDIS_URL"] = os.environ["REDIS_URL"]
        self.process: subprocess.Popen | None = None
        self._driver: subprocess.Popen | None = None
        self._driver_lock = threading.Lock()

    def _psql(self, statement: str) -> None:
        import psycopg

        base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
        with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
            connection.execute(statement)

    def manage(self, *args: str, extra: dict[str, str] | None = None) -> str:
        done = subprocess.run(  # our own command line
            [sys.executable, "-m", "opensspr", *args],
            env=self.env | (extra or {}),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def do(self, command: str, **args: Any) -> Any:
        """Run one ``driver`` command in the driver process; its JSON answer."""
        with self._driver_lock:
            if self._driver is None or self._driver.poll() is not None:
                self._driver = subprocess.Popen(  # our own command line
                    [
                        sys.executable,
                        "-m",
                        "opensspr",
                        "shell",
                        "-c",
                        "from tests.agents.driver import serve; serve()",
                    ],
                    env=self.env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=(self.folder / "driver.log").open("ab"),
                    text=True,
                )
            assert self._driver.stdin is not None and self._driver.stdout is not None
            self._driver.stdin.write(json.dumps({"command": command} | args) + "\n")
            self._driver.stdin.flush()
            for line in self._driver.stdout:
                if line.startswith("DRIVER "):
                    answer = json.loads(line.removeprefix("DRIVER "))
                    assert "exception" not in answer, answer["exception"]
                    return answer
        raise AssertionError("the driver stopped: " + (self.folder / "driver.log").read_text())

    def start(self) -> None:
        self.process = subprocess.Popen(  # our own command line
            [
                sys.executable,
                "-m",
                "opensspr",
                "serve",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
            ],
            env=self.env,
            stdout=(self.folder / "serve.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the server didn't start: " + self.log())

    def log(self) -> str:
        return (self.folder / "serve.log").read_text(errors="replace")

    def query(self, sql: str) -> list[tuple]:
        """Read the site's database directly (fast enough to catch a job mid-lease)."""
        if self.database:
            import psycopg

            with psycopg.connect(self.env["DATABASE_URL"], autocommit=True) as connection:
                return list(connection.execute(sql).fetchall())
        path = Path(self.env["OPENSSPR_DATA_DIR"]) / "opensspr.sqlite3"
        with closing(sqlite3.connect(path, timeout=5)) as connection:
            return list(connection.execute(sql).fetchall())

    def stop(self) -> None:
        if self._driver is not None:
            self._driver.kill()
            self._driver.wait(timeout=30)
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        if self.database:
            self._psql(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")


class Agents:
    """Agent processes as an operator runs them: a config file, enrol, run, kill."""

    def __init__(self, site: Site, server: slapd.Slapd, folder: Path) -> None:
        self.site, self.server, self.folder = site, server, folder
        self.processes: dict[str, subprocess.Popen] = {}
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "OPENSSPR"))}

    def config(
        self, name: str, *, port: int | None = None, bind_dn: str = "", directory: str = ""
    ) -> Path:
        """The agent's configuration file; ``directory`` replaces the slapd section."""
        home = self.folder / name
        home.mkdir(exist_ok=True)
        (home / "bind-password").write_text(slapd.RESETTER_PW)
        section = (
            directory
            or f"""
[directory]
kind = "openldap"
urls = ["ldap://127.0.0.1:{port or self.server.ldap_port}"]
tls = "starttls"
ca_file = "{self.server.tls.ca_file}"
server_name = "{slapd.SERVER_NAME}"
bind_dn = "{bind_dn or slapd.RESETTER_DN}"
bind_password_file = "bind-password"
base_dn = "{slapd.PEOPLE}"
default_policy_dn = "cn=default,{slapd.POLICIES}"
operation_timeout = 2
"""
        )
        (home / "agent.toml").write_text(
            f"""
[server]
url = "{self.site.url}"
{section}
[agent]
workers = 2
"""
        )
        return home / "agent.toml"

    def enrol(self, name: str, **config: Any) -> Path:
        path = self.config(name, **config)
        self.enrol_with(path, self.site.do("token", name=name)["token"])
        return path

    def enrol_with(self, path: Path, token: str) -> None:
        done = subprocess.run(  # our own command line
            [
                sys.executable,
                "-m",
                "opensspr_agent",
                "enrol",
                "--config",
                str(path),
                "--token",
                token,
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def start(self, name: str, *, prelude: str = "") -> subprocess.Popen:
        """Run the enrolled agent ``name``; ``prelude`` runs first (an older agent's version)."""
        config = str(self.folder / name / "agent.toml")
        code = f"{prelude}\nfrom opensspr_agent.cli import main\nraise SystemExit(main())"
        process = subprocess.Popen(  # our own command line
            [sys.executable, "-c", code, "run", "--config", config],
            env=self.env,
            stdout=(self.folder / f"{name}.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.kill(name)


@pytest.fixture
def directory_server(slapd_server: slapd.Slapd) -> slapd.Slapd:
    """The session's slapd, under the name these tests use."""
    return slapd_server


@pytest.fixture
def site(tmp_path: Path, directory_server: slapd.Slapd) -> Iterator[Site]:
    running = Site(tmp_path)
    try:
        running.manage("migrate", "--verbosity", "0")
        running.do("setup", base_dn=slapd.SUFFIX)
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
def agents(site: Site, directory_server: slapd.Slapd, tmp_path: Path) -> Iterator[Agents]:
    made = Agents(site, directory_server, tmp_path)
    try:
        yield made
    finally:
        made.stop_all()


@pytest.fixture
def proxy(directory_server: slapd.Slapd) -> Iterator[TcpProxy]:
    made = TcpProxy("127.0.0.1", directory_server.ldap_port)
    try:
        yield made
    finally:
        made.close()
