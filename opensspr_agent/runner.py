"""The agent at work: workers that long-poll for jobs, and a heartbeat.

Each worker thread holds one HTTPS connection and one job at a time. A job
that writes a password is started only while enough of its lease is left for
the directory's own timeout to run out first: once the server moves a lapsed
job on to another agent, this one can no longer be writing it.

Nothing secret is logged: a job is named by its id and kind, a result by its
code. The directory's diagnostic text stays in this log (for the operator at
the agent's side) and is never sent.
"""

import logging
import platform
import socket
import threading
from typing import Any

import opensspr_agent
from opensspr.directory.errors import DirectoryCode
from opensspr.directory.jobs import PASSWORD_WRITES, PROTOCOL, JobKind, execute, seal_context
from opensspr.directory.ldap.failover import Failover, build
from opensspr.directory.sealing import SealError, open_sealed
from opensspr_agent import scope
from opensspr_agent.client import Client, ServerError
from opensspr_agent.config import Config, State

logger = logging.getLogger("opensspr_agent")
LONG_POLL_SECONDS = 25
MAX_BACKOFF_SECONDS = 30.0


class Revoked(Exception):
    """The server refused our credential: the agent was revoked in the console."""


class AgentProcess:
    def __init__(self, config: Config, state: State, *, version: str | None = None) -> None:
        self.config = config
        self.state = state
        self.version = version or opensspr_agent.__version__
        self.directory = Failover(
            build(
                config.directory.kind,
                config.directory.configs,
                policy_hints=config.directory.policy_hints,
            )
        )
        self.stopping = threading.Event()
        self.revoked = False
        self.heartbeat_seconds = 30.0
        self._errors = 0
        self._errors_lock = threading.Lock()
        # A write starts only if this much of its lease is left: a connect and an operation
        # on each configured server (the failover may try them all), plus a margin.
        self.write_margin = (
            sum(c.connect_timeout + c.operation_timeout for c in config.directory.configs) + 2.0
        )
        self.base_dn = config.directory.configs[0].user_base

    def client(self) -> Client:
        client = Client(
            self.config.server.url,
            ca_file=self.config.server.ca_file,
            proxy=self.config.server.proxy,
        )
        client.authorization = self.state.authorization()
        return client

    def run(self) -> int:
        """Until stopped (SIGTERM) or revoked; the exit status."""
        logger.info("agent %s %s started", self.state.agent_id, self.version)
        # One heartbeat before any long poll: the server learns which directory servers
        # this agent lists (a pinned job goes only to agents that list its server) before
        # it counts the agent as connected and could hand it, or pass it, such a job.
        self._first_heartbeat()
        threads = [threading.Thread(target=self._heartbeats, name="heartbeat", daemon=True)]
        threads += [
            threading.Thread(target=self._work, name=f"worker-{n}", daemon=True)
            for n in range(self.config.workers)
        ]
        for thread in threads:
            thread.start()
        try:
            while not self.stopping.wait(0.5):
                pass
        finally:
            self.stopping.set()
            for thread in threads:
                thread.join(timeout=LONG_POLL_SECONDS + 10)
            self.directory.close()
            logger.info("agent stopped")
        return 3 if self.revoked else 0

    def stop(self) -> None:
        self.stopping.set()

    # Heartbeat ---------------------------------------------------------------------------

    def heartbeat_once(self, client: Client) -> None:
        health = self.directory.check_health()
        with self._errors_lock:
            errors, self._errors = self._errors, 0
        report = {
            "version": self.version,
            "protocol": PROTOCOL,
            "host": socket.gethostname(),
            "platform": platform.platform(terse=True),
            "probe": {"state": str(health.state), "detail": health.detail},
            "server_errors": errors,
            # Which servers it lists, so a job pinned to one comes only to agents that do.
            "servers": [Failover.address(server) for server in self.directory.servers],
        }
        _, answer = client.post("/agent/v1/heartbeat", report)
        self.heartbeat_seconds = float(answer.get("heartbeat_seconds", self.heartbeat_seconds))
        logger.info("heartbeat sent: directory %s %s", health.state, health.detail)

    def _first_heartbeat(self) -> None:
        client = self.client()
        try:
            self.heartbeat_once(client)
        except ServerError as exc:  # the heartbeat thread tries again; the polls will too
            if not self._refused(exc):
                logger.warning("heartbeat failed: %s", exc)
        finally:
            client.close()

    def _heartbeats(self) -> None:
        client = self.client()
        while not self.stopping.is_set():
            try:
                self.heartbeat_once(client)
            except ServerError as exc:
                if self._refused(exc):
                    return
                logger.warning("heartbeat failed: %s", exc)
            self.stopping.wait(self.heartbeat_seconds)

    # Jobs --------------------------------------------------------------------------------

    def _work(self) -> None:
        client = self.client()
        backoff = 1.0
        while not self.stopping.is_set():
            try:
                status, answer = client.post(f"/agent/v1/jobs/next?wait={LONG_POLL_SECONDS}")
                backoff = 1.0
                if status == 204 or "job" not in answer:
                    continue
                job = answer["job"]
                result = self.handle(job, client)
                try:
                    client.post(f"/agent/v1/jobs/{job['id']}/result", result)
                except ServerError as exc:
                    if exc.status == 409:  # our lease ran out; another agent has it
                        logger.warning("job %s: answered too late", job["id"])
                    else:
                        raise
            except ServerError as exc:
                if self._refused(exc):
                    return
                with self._errors_lock:
                    self._errors += 1
                logger.warning("server: %s; retrying in %.0f s", exc, backoff)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        client.close()

    def _refused(self, exc: ServerError) -> bool:
        if exc.status == 401:
            logger.error("the server refused this agent's credential (revoked?): stopping")
            self.revoked = True
            self.stopping.set()
            return True
        return False

    def handle(self, job: dict[str, Any], client: Client | None = None) -> dict[str, Any]:
        """Run one job within its lease; the result to post (parts of it through ``client``).

        Whatever goes wrong with one job is answered as an error, so the person
        gets an answer and this worker goes on to the next job.
        """
        try:
            return self._handle(job, client)
        except ServerError:
            raise  # sending a part failed: the worker backs off, the job lapses
        except Exception as exc:
            logger.error("job %s: failed with %s", job.get("id"), type(exc).__name__)
            return {"error": {"family": "error", "code": DirectoryCode.UNEXPECTED}}

    def _handle(self, job: dict[str, Any], client: Client | None) -> dict[str, Any]:
        job_id, kind = str(job["id"]), JobKind(job["kind"])
        sealed: dict[str, str] = job.get("sealed") or {}
        lease = float(job.get("lease_seconds", 30))

        def secret(field: str) -> str:
            return open_sealed(
                self.state.private_key,
                sealed[field],
                context=seal_context(job_id, kind, field),
            )

        if kind in PASSWORD_WRITES and lease - self.write_margin <= 0:
            logger.error("job %s: lease %.0f s is under the directory timeout", job_id, lease)
            return _unavailable()
        pinned = str((job.get("payload") or {}).get("server") or "")
        if pinned and not self.directory.knows(pinned):
            logger.warning(
                "job %s (%s) is pinned to %s, which this agent's urls don't list: refused "
                "(give every agent of one directory the same urls, written the same way)",
                job_id,
                kind,
                pinned,
            )
        refusal = scope.refusal(kind, job.get("payload") or {}, self.base_dn)
        if refusal:
            logger.error("job %s (%s) refused: %s", job_id, kind, refusal)
            return {"error": {"family": "configuration", "code": DirectoryCode.PERMISSION_DENIED}}
        try:
            emit = _parts(client or self.client(), job_id, self.stopping)
            result = execute(self.directory, job, secret, emit)
        except (SealError, KeyError):
            logger.error("job %s (%s): its sealed secret doesn't open for this agent", job_id, kind)
            return {"error": {"family": "error", "code": DirectoryCode.UNEXPECTED}}
        code = result["error"]["code"] if "error" in result else "ok"
        logger.info("job %s %s: %s", job_id, kind, code)
        return result


def _parts(client: Client, job_id: str, stopping: threading.Event) -> Any:
    """Send each part of a streamed answer as it is read (one POST each, in order).

    The server holds a few unread parts at most; past that it answers 429 and
    the part is sent again a moment later (the directory read waits meanwhile).
    """
    seq = 0

    def emit(entries: list[dict[str, Any]]) -> None:
        nonlocal seq
        while True:
            try:
                client.post(f"/agent/v1/jobs/{job_id}/part", {"seq": seq, "entries": entries})
                break
            except ServerError as exc:
                if exc.status != 429 or stopping.wait(0.2):
                    raise
        seq += 1

    return emit


def _unavailable() -> dict[str, Any]:
    return {
        "error": {
            "family": "unavailable",
            "code": DirectoryCode.UNAVAILABLE,
            "maybe_written": False,
        }
    }
