"""HTTP reset storm: C concurrent API clients each walk a whole one-gate email reset.

Unlike ``bench_reset_storm.py`` (the engine, in-process), this measures what
people feel: ``opensspr serve`` started as documented on a loopback port, the
JSON API at ``/api/v1/resets``, the response floor, the middleware, the
serving stack. Captchas are fetched from the server and solved before the
timed part; each client reads its code from the outbox in the database, as
the demo's ``/outbox/`` page does. Prints completed resets per second,
argon2id hashes per second on **all** cores measured in the same run (a
multi-process burst with the project's hasher), their ratio, p50/p99 of each
step, and the peak RSS (``VmHWM``) of every server process. After the storm it
measures what a bare request costs (``GET /healthz``: every middleware, nothing
else) and prints the reset rate this machine could not pass even if a reset's own
work were free: one hash and five bare requests a reset.

    .venv/bin/python bench/bench_http_reset_storm.py --quick
    .venv/bin/python bench/bench_http_reset_storm.py --config sqlite [--resets 400] [--clients 64]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_http \\
        REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/bench_http_reset_storm.py --config scale-out

``sqlite`` is the demo's embedded set-up (``opensspr demo``: one process, 4
threads, a fresh data folder); ``scale-out`` is ``opensspr serve`` with its
documented defaults (a worker per core, 4 threads each) against ``DATABASE_URL``
and ``REDIS_URL``, which this bench **empties** (migrated from scratch, Redis db
flushed): point them at a bench-only database. ``both`` runs one after the other.
Loopback only; every client stops after its share of resets or at ``--deadline``.
Figures, never assertions: see docs/contributors/testing.md.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# ``python -m opensspr``: a PYTHONPATH checkout (e.g. main's code for "before" figures) wins.
OPENSSPR = [sys.executable, "-m", "opensspr"]
#: Database and cache servers whose CPU the storm also costs (read from /proc by name).
SERVICES = {"postgres": "PostgreSQL", "redis-server": "Redis"}
STEPS = ("start", "choose", "send_code", "verify", "new_password")
NEW_PASSWORD = "Storm-Copper-Lantern-77"  # noqa: S105  # a bench person's new password
SECRET = "bench-only-secret-key-0123456789abcdefghijklmnop"  # noqa: S105  # bench-only


# --- the hash rate on all cores ---------------------------------------------------------


def _hash_for(seconds: float) -> int:
    from django.contrib.auth.hashers import make_password

    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        make_password(f"bench-{count}")
        count += 1
    return count


def argon2_rate_all_cores(seconds: float) -> float:
    """Hashes per second with one process per core, the project's hasher and parameters."""
    cores = os.cpu_count() or 1
    with multiprocessing.get_context("fork").Pool(cores) as pool:
        started = time.perf_counter()
        total = sum(pool.map(_hash_for, [seconds] * cores))
        return total / (time.perf_counter() - started)


# --- the server -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_command(config: str, port: int, args: argparse.Namespace) -> list[str]:
    if config == "sqlite":
        return [*OPENSSPR, "demo", "--port", str(port)]
    command = [*OPENSSPR, "serve", "--bind", f"127.0.0.1:{port}"]
    return [*command, "--workers", str(args.workers)] if args.workers else command


def wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped at start (exit {process.returncode})")
        try:
            status, _ = request(port, "GET", "/readyz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not become ready")


def process_tree(root: int) -> list[int]:
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        todo += [int(c) for c in children]
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far (all their threads)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def service_cpu_seconds(name: str) -> float:
    """CPU time of every process called ``name`` (PostgreSQL, Redis) on this machine so far.

    A finished backend's time is in its parent's reaped-children figures (``cutime``,
    ``cstime``), so a backend that ends between two readings is still counted once.
    """
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm, rest = text[text.index("(") + 1 : text.rindex(")")], text.rsplit(")", 1)[1]
        if comm.startswith(name):
            fields = rest.split()
            total += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """Busy and total CPU ticks of the whole machine so far (Linux's ``/proc/stat``)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def peak_rss_mb(pids: list[int]) -> dict[int, float]:
    peaks = {}
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        if match:
            peaks[pid] = int(match.group(1)) / 1024
    return peaks


# --- one client -------------------------------------------------------------------------


def request(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    handle: str | None = None,
) -> tuple[int, Any]:
    own = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json", "Host": "127.0.0.1"}
    if handle:
        headers["Authorization"] = f"Flow {handle}"
    data = None if body is None else json.dumps(body)
    own.request(method, path, body=data, headers=headers)
    response = own.getresponse()
    raw = response.read()
    own.close()
    return response.status, (json.loads(raw) if raw.startswith(b"{") else raw)


def solve(challenge: dict[str, Any]) -> str:
    import altcha

    from tests.captcha.conftest import pack, payload_fields

    assert altcha  # the solver the tests use
    return pack(payload_fields(challenge))


class OutboxReader:
    """One thread, one database connection, reading every waiting client's code.

    Each client reading the outbox on its own meant a connection of its own per code
    (64 threads would pass PostgreSQL's 100 connections beside the server's): a
    PostgreSQL backend started and ended per reset, costing the machine the storm
    measures a few milliseconds of CPU that no real person's mailbox costs it.
    """

    POLL = 0.02  # seconds between two looks while someone waits

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, tuple[threading.Event, list[str]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-reader", daemon=True)
        self._thread.start()

    def read_code(self, address: str, deadline: float) -> str:
        found, box = threading.Event(), []
        with self._lock:
            self._waiting[address] = (found, box)
        if not found.wait(max(0.0, deadline - time.monotonic())):
            with self._lock:
                self._waiting.pop(address, None)
            raise TimeoutError(f"no code for {address}")
        if not box[0]:
            raise RuntimeError(f"a message to {address} without a code")
        return box[0]

    def _run(self) -> None:
        from django.db import connection

        from opensspr.channels import list_outbox

        try:
            while not self._stop.wait(self.POLL):
                with self._lock:
                    addresses = list(self._waiting)
                if not addresses:
                    continue
                try:
                    found = [
                        (message.recipient, re.search(r"\b(\d{6,8})\b", message.plaintext_body()))
                        for message in list_outbox().filter(recipient__in=addresses)
                    ]
                except Exception as exc:  # one failed look: the next one tries again
                    print(f"outbox reader: {type(exc).__name__}: {exc}", file=sys.stderr)
                    connection.close()
                    continue
                for recipient, code in found:
                    with self._lock:
                        waiter, box = self._waiting.pop(recipient, (None, None))
                    if waiter is not None:
                        box.append(code.group(1) if code else "")  # "": the step fails
                        waiter.set()
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def one_reset(
    port: int, outbox: OutboxReader, person: tuple[str, str], captcha: str, deadline: float
) -> dict[str, float]:
    user_id, address = person
    timings: dict[str, float] = {}

    def step(name: str, path: str, body: Any, handle: str | None, want: int) -> Any:
        began = time.perf_counter()
        status, answer = request(port, "POST", "/api/v1" + path, body, handle)
        timings[name] = (time.perf_counter() - began) * 1000
        if status != want:
            raise RuntimeError(f"{name}: {status} {answer}")
        return answer

    flow = step("start", "/resets", {"user_id": user_id, "captcha": captcha}, None, 201)
    flow = step("choose", "/resets/current/operation", {"operation": "reset"}, flow["handle"], 200)
    body = {"method": "email", "contact": address}
    flow = step("send_code", "/resets/current/verification", body, flow["handle"], 200)
    began = time.perf_counter()
    code = outbox.read_code(address, deadline)
    timings["code_in_outbox"] = (time.perf_counter() - began) * 1000
    answer = {"answer": code}
    flow = step("verify", "/resets/current/verification/answer", answer, flow["handle"], 200)
    body = {"new_password": NEW_PASSWORD}
    flow = step("new_password", "/resets/current/password", body, flow["handle"], 200)
    return timings


# --- one configuration ------------------------------------------------------------------


Person = tuple[str, str]  # user ID, email address


def seed(count: int) -> list[Person]:
    from opensspr.accounts.services import UserData, create_user
    from opensspr.core.request_meta import RequestMeta

    meta, run, people = RequestMeta.system(), int(time.time()), []
    for n in range(count):
        user_id, address = f"storm{run}-{n}@bench.example", f"s{run}-{n}@mail.example"
        create_user(data=UserData(user_id, f"Storm {n}", auth_email=address), meta=meta)
        people.append((user_id, address))
    return people


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _create_database_if_missing(url: str) -> None:
    """A fresh machine has no bench database yet: make it (the bench empties it anyway)."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')  # the operator's own bench URL


def prepare(config: str, args: argparse.Namespace) -> tuple[dict[str, str], list[Person]]:
    """The server's environment, a fresh database with the demo organisation, bench people."""
    env = dict(os.environ, OPENSSPR_SECRET_KEY=SECRET)
    env["DJANGO_SETTINGS_MODULE"] = "opensspr.config.settings"
    env["OPENSSPR_DATA_DIR"] = tempfile.mkdtemp(prefix="opensspr-bench-http-")
    if config == "sqlite":
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        subprocess.run(  # noqa: S603  # our own command line
            [*OPENSSPR, "demo", "--no-serve"], check=True, env=env, stdout=subprocess.DEVNULL
        )
    elif not (env.get("DATABASE_URL") and env.get("REDIS_URL")):
        raise SystemExit("scale-out needs DATABASE_URL and REDIS_URL (bench-only: emptied)")
    else:
        env.setdefault("OPENSSPR_ALLOWED_HOSTS", "127.0.0.1")
        env.setdefault("OPENSSPR_BASE_URL", "http://127.0.0.1")
        _create_database_if_missing(env["DATABASE_URL"])
    os.environ.clear()
    os.environ.update(env)
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection

    if config == "scale-out":
        # Migrated first: a database a bench of an older commit left behind is brought up
        # to this schema, then emptied (flushing it first failed on a dropped table).
        call_command("migrate", verbosity=0, interactive=False)
        call_command("flush", interactive=False, verbosity=0)
        cache.clear()
        from opensspr.demo.seed import seed_demo

        seed_demo()  # the same organisation and reset policy as the demo
    people = seed(args.resets)
    connection.close()
    return env, people


@dataclass
class Run:
    config: str
    args: argparse.Namespace
    hashes: float = 0.0
    elapsed: float = 0.0
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)
    peaks: dict[int, float] = field(default_factory=dict)
    server_pid: int = 0
    server_cpu: float = 0.0  # CPU seconds of the server's processes during the timed part
    client_cpu: float = 0.0  # CPU seconds of this process (the clients) during the timed part
    machine_busy: float = 0.0  # fraction of all cores busy during the timed part (/proc/stat)
    services_cpu: dict[str, float] = field(default_factory=dict)  # PostgreSQL's and Redis's
    #: CPU seconds a bare request costs the server and the clients (``stack_cost``).
    stack: tuple[float, float] = (0.0, 0.0)


def storm(run: Run, port: int, people: list[Person]) -> None:
    """Solve every captcha, then let ``--clients`` clients loose; the timed part."""
    challenges = [request(port, "GET", "/captcha/challenge")[1] for _ in people]
    with multiprocessing.get_context("fork").Pool(os.cpu_count()) as pool:
        captchas = pool.map(solve, challenges)
    lock = threading.Lock()
    deadline = time.monotonic() + run.args.deadline

    outbox = OutboxReader()

    def client(job: tuple[Person, str]) -> None:
        person, captcha = job
        if time.monotonic() > deadline:
            return
        try:
            done = one_reset(port, outbox, person, captcha, deadline)
        except Exception as exc:  # a figure, not a crash
            with lock:
                run.failures.append(str(exc)[:200])
            return
        with lock:
            for step, ms in done.items():
                run.timings[step].append(ms)

    cpu_before = cpu_seconds(process_tree(run.server_pid))
    services_before = {name: service_cpu_seconds(name) for name in SERVICES}
    clients_before, machine_before = time.process_time(), machine_ticks()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=run.args.clients) as pool:
        list(pool.map(client, zip(people, captchas, strict=True)))
    run.elapsed = time.perf_counter() - started
    outbox.stop()
    run.server_cpu = cpu_seconds(process_tree(run.server_pid)) - cpu_before
    run.client_cpu = time.process_time() - clients_before
    for name, before in services_before.items():
        run.services_cpu[name] = service_cpu_seconds(name) - before
    (busy_after, all_after), (busy_before, all_before) = machine_ticks(), machine_before
    busy, every = busy_after - busy_before, all_after - all_before
    run.machine_busy = busy / every if every else 0.0


def stack_cost(run: Run, port: int, requests: int = 3000) -> None:
    """What a request costs when it does nothing: ``GET /healthz`` (every middleware, no
    database, no floor) from the same clients, after the storm. With the hash rate, it
    bounds the reset rate any reset logic could reach on this machine and this stack."""
    for _ in range(100):  # warm
        request(port, "GET", "/healthz")
    server_before = cpu_seconds(process_tree(run.server_pid))
    clients_before = time.process_time()
    with ThreadPoolExecutor(max_workers=run.args.clients) as pool:
        list(pool.map(lambda _n: request(port, "GET", "/healthz"), range(requests)))
    server = cpu_seconds(process_tree(run.server_pid)) - server_before
    run.stack = (server / requests, (time.process_time() - clients_before) / requests)


def run_config(config: str, args: argparse.Namespace) -> None:
    """Runs in a process of its own: Django is set up once, for this configuration."""
    env, people = prepare(config, args)
    run = Run(config, args, hashes=argon2_rate_all_cores(args.hash_seconds))
    port = free_port()
    with open(Path(env["OPENSSPR_DATA_DIR"]) / "server.log", "wb") as log:
        server = subprocess.Popen(  # noqa: S603  # our own command line
            server_command(config, port, args),
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        run.server_pid = server.pid
        try:
            wait_ready(port, server)
            storm(run, port, people)
            run.peaks = peak_rss_mb(process_tree(server.pid))
            stack_cost(run, port)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
    report(run)


def report(run: Run) -> None:
    done, args = len(run.timings["new_password"]), run.args
    rate = done / run.elapsed
    cores = os.cpu_count()
    print(f"\n== {run.config}: {done}/{args.resets} resets, {args.clients} clients, {cores} cores")
    print(f"completed resets per second: {rate:.1f}  ({run.elapsed:.1f} s in all)")
    print(f"argon2id hashes per second (all cores, same run): {run.hashes:.1f}")
    print(f"ratio: {rate / run.hashes:.2f}")
    if done:
        per_reset = run.server_cpu / done * 1000
        print(f"server CPU per reset (its own processes): {per_reset:.0f} ms")
        print(f"the clients' CPU per reset (this process): {run.client_cpu / done * 1000:.0f} ms")
        for name, seconds in run.services_cpu.items():
            if run.config == "scale-out":  # whoever else uses them here is counted too
                print(f"{SERVICES[name]}'s CPU per reset: {seconds / done * 1000:.0f} ms")
    print(f"machine busy during the storm: {run.machine_busy:.0%} of {cores} cores")
    server_ms, client_ms = (seconds * 1000 for seconds in run.stack)
    print(f"a bare request (GET /healthz): server {server_ms:.2f} ms, clients {client_ms:.2f} ms")
    # One hash takes cores / rate of the machine; each step a bare request at least.
    floor = cores / run.hashes + len(STEPS) * sum(run.stack) if run.hashes else 0.0
    if floor:
        bound = cores / floor
        print(
            f"so at most {bound:.0f} resets/s (ratio {bound / run.hashes:.2f}) with {len(STEPS)} "
            "requests and one hash a reset, were the rest free"
        )
    print(f"{'step':<14}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for step in (*STEPS, "code_in_outbox"):  # the last: from send_code's answer to the code read
        values = run.timings[step] or [float("nan")]
        p50, p99 = percentile(values, 50), percentile(values, 99)
        print(f"{step:<14}{p50:>10.0f}{p99:>10.0f}{statistics.fmean(values):>10.0f}")
    shown = [f"{'main' if i == 0 else 'worker'} {v:.0f}" for i, v in enumerate(run.peaks.values())]
    print("peak RSS per server process (MB): " + ", ".join(shown))
    if run.failures:
        print(f"{len(run.failures)} failed, first: {run.failures[0]}")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=("sqlite", "scale-out", "both"), default="sqlite")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--resets", type=int, default=400)
    parser.add_argument(
        "--workers",
        type=int,
        help="scale-out only (default: serve's own, a worker per core, 2 to 4)",
    )
    parser.add_argument("--hash-seconds", type=float, default=3.0)
    parser.add_argument("--deadline", type=float, default=300, help="seconds, then stop")
    parser.add_argument("--quick", action="store_true", help="40 resets, 16 clients")
    args = parser.parse_args()
    if args.quick:
        args.resets, args.clients, args.hash_seconds = 40, 16, 1.0
    configs = ("sqlite", "scale-out") if args.config == "both" else (args.config,)
    failed = []
    for config in configs:
        child: Callable[[], None] = lambda c=config: run_config(c, args)  # noqa: E731
        process = multiprocessing.get_context("fork").Process(target=child)
        process.start()
        process.join()
        if process.exitcode:
            failed.append(config)
    if failed:
        raise SystemExit(f"no figures for: {', '.join(failed)} (see the error above)")


if __name__ == "__main__":
    main()
