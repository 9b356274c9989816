"""The job queue between a request that needs the directory and the agents that reach it.

A request submits a job and waits for its answer in its own thread; agents
long-poll for work (``views``), lease one job at a time and post the result.
Everything lives in the database, so any server process may take the result
of a job another one submitted (scale-out), and a restart loses nothing but
the wait.

Three clocks bound the wait, so a person is never left hanging:

* a job no agent leases before ``expires_at`` (``OPENSSPR_AGENT_JOB_SECONDS``)
  expires: the person is told their organisation can't be reached;
* a leased job must be answered within the lease (``OPENSSPR_AGENT_LEASE_SECONDS``);
  past it, the job moves on to the next agent. A password write moves on with
  its *guard* (the password marker read before the write was recorded): the
  next agent writes only if the marker hasn't moved, so a write the first
  agent made before it vanished is never made again. A write without a guard
  is not moved on: it ends ``lost``, and the crash-safe writeback decides;
* at most ``MAX_ATTEMPTS`` leases per job, never twice to the same agent.
"""

import time
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q

from opensspr.agents.models import Agent, AgentJob, JobState
from opensspr.agents.news import (
    POLL_SECONDS,
    answered,
    forget,
    mark_answered,
    news_for,
    read_every,
    wake,
)
from opensspr.core import clock
from opensspr.directory.errors import DirectoryCode, DirectoryUnavailableError
from opensspr.directory.jobs import (
    PASSWORD_WRITES,
    SECRETS,
    STREAMED,
    JobKind,
    error_from_wire,
    seal_context,
)
from opensspr.directory.sealing import SealError, public_key_from, seal

MAX_ATTEMPTS = 3

_GENERATION = "agents.queue.generation"


def queue_generation() -> int | None:
    """A number that changes whenever a job is queued; None if the cache can't say.

    Waiting agents look at it every few milliseconds and read the queue itself
    only when it moved (or on a timer, ``views._db_poll_seconds``), so an idle
    agent costs a cache read, not a database query. The cache is Redis in scale-out
    (shared by every process) and in-process memory in the embedded default
    (one process).
    """
    try:
        value = cache.get(_GENERATION)
    except Exception:  # Redis down: fall back to reading the queue
        return None
    return int(value) if value is not None else 0


def _queued() -> None:
    try:
        cache.incr(_GENERATION)
    except ValueError:  # not there yet
        cache.add(_GENERATION, 1, timeout=None)
    except Exception:  # Redis down: waiting agents read the queue on their own
        return


def window() -> timedelta:
    return timedelta(seconds=settings.OPENSSPR_AGENT_WINDOW_SECONDS)


def connected_agents() -> list[Agent]:
    """Enrolled, unrevoked agents heard from within the window: the ones a job can go to."""
    since = clock.now() - window()
    return list(
        Agent.objects.filter(
            enrolled_at__isnull=False, revoked_at__isnull=True, last_poll_at__gte=since
        )
    )


def can_run(agent: Agent, payload: Mapping[str, Any]) -> bool:
    """Whether ``agent`` may take a job with ``payload``: one pinned to a directory server
    (security bar F5) only if the agent lists that server (its heartbeat says which)."""
    server = payload.get("server")
    return not server or server in (agent.servers or [])


def _unavailable(reason: str, *, maybe_written: bool) -> DirectoryUnavailableError:
    error = DirectoryUnavailableError(reason, code=DirectoryCode.UNAVAILABLE)
    error.maybe_written = maybe_written
    return error


def submit(
    kind: JobKind,
    payload: Mapping[str, Any],
    secrets: Mapping[str, str] | None = None,
    *,
    agents: list[Agent] | None = None,
) -> AgentJob:
    """Queue ``kind``; each secret sealed to every enrolled agent, never kept in clear.

    Refused at once when no agent is connected (nobody would take it); sealed
    to every enrolled agent all the same, so one that reconnects in time, or
    takes over from one that vanished, can run it.
    """
    connected = connected_agents()
    if not connected:
        raise _unavailable("no agent is connected", maybe_written=False)
    if not any(can_run(agent, payload) for agent in connected):
        raise _unavailable("no connected agent lists the job's server", maybe_written=False)
    if agents is None:
        agents = list(Agent.objects.filter(enrolled_at__isnull=False, revoked_at__isnull=True))
    job_id = uuid.uuid4()
    wanted = SECRETS.get(kind, ())
    sealed: dict[str, dict[str, str]] = {}
    if wanted:
        values = secrets or {}
        for agent in agents:
            try:
                key = public_key_from(agent.public_key)
                sealed[str(agent.id)] = {
                    field: seal(key, values[field], context=seal_context(str(job_id), kind, field))
                    for field in wanted
                }
            except (SealError, ValueError):  # a key enrolment should have refused: skip it
                continue
    now = clock.now()
    job = AgentJob.objects.create(
        id=job_id,
        kind=kind,
        payload=dict(payload),
        secret=bool(wanted),
        sealed=sealed,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.OPENSSPR_AGENT_JOB_SECONDS),
    )
    transaction.on_commit(_queued)
    return job


def wait(job: AgentJob) -> Any:
    """The job's value; its error raised as the connector would have raised it.

    The row is read when there is news: this process took the answer (its waker),
    or another one did (a marker in the shared cache, ``news.answered``); and at
    least every ``news.read_every()`` to see the job expire or its lease lapse.
    Before, each waiting request read the database every 20 ms, 50 queries a second.
    """
    waker = news_for(job.id)
    try:
        news, next_read = True, 0.0
        while True:
            if news or time.monotonic() >= next_read or answered(job.pk):
                row = AgentJob.objects.filter(pk=job.pk).first()
                if row is None:
                    raise _unavailable("the job vanished", maybe_written=True)
                outcome = _settled(row)
                if outcome is not None:
                    return outcome()
                next_read = time.monotonic() + read_every()
            news = waker.wait(POLL_SECONDS)
            waker.clear()
    finally:
        forget(job.id)


def _settled(row: AgentJob) -> Any:
    """A callable giving the outcome once there is one; None while the job is on its way.

    Every change of state here is conditional on the state just read; when another
    process changed it first (an agent leased or answered the job), nothing is
    decided from the stale row: None, and the caller reads the row again.
    """
    if row.state == JobState.DONE:
        result = row.result or {}
        if "error" in result:
            return _raiser(error_from_wire(result["error"]))
        return lambda: result.get("value")
    if row.state in (JobState.EXPIRED, JobState.LOST):
        return _raiser(_unavailable("the job ended unanswered", maybe_written=True))
    return _overdue(row, clock.now())


def _overdue(row: AgentJob, now: Any) -> Any:
    """Expire a job nobody took, or move on one whose agent went quiet (see ``_settled``)."""
    if row.state == JobState.QUEUED and now >= row.expires_at:
        expired = AgentJob.objects.filter(pk=row.pk, state=JobState.QUEUED).update(
            state=JobState.EXPIRED, finished_at=now, sealed={}
        )
        if not expired:
            return None  # leased meanwhile: wait for that agent
        written = row.kind in PASSWORD_WRITES and row.attempts > 0
        return _raiser(_unavailable("no agent took the job in time", maybe_written=written))
    lapsed = row.state == JobState.LEASED and row.lease_until and now >= _handed_on_after(row)
    if lapsed and _move_on(row, now) is False:
        return _raiser(_unavailable("the agent didn't answer", maybe_written=True))
    return None  # on its way, answered meanwhile, or back in the queue: read it again


def _handed_on_after(row: AgentJob) -> Any:
    """When a lapsed job may move on: a password write waits one more lease.

    An agent starts a write only while enough of its lease is left for its
    directory timeouts (``opensspr_agent.runner``); the extra lease covers a
    write that started just in time and is slow to finish, so the next agent's
    guard check can't pass while the first write is still on its way.
    """
    assert row.lease_until is not None
    if row.kind in PASSWORD_WRITES:
        return row.lease_until + timedelta(seconds=settings.OPENSSPR_AGENT_LEASE_SECONDS)
    return row.lease_until


def _raiser(error: Exception) -> Any:
    def fail() -> Any:
        raise error

    return fail


def _move_on(row: AgentJob, now: Any) -> bool | None:
    """Put a job whose lease ran out back in the queue (True), or end it ``lost`` (False).

    Never a streamed job (parts of it were taken already), nor a password write
    without its guard, nor when no other connected agent could take it (the
    person would only wait longer). None when the job changed meanwhile.
    """
    passed_over = [*row.payload.get("passed_over", []), str(row.leased_to_id)]
    others = [
        a for a in connected_agents() if str(a.pk) not in passed_over and can_run(a, row.payload)
    ]
    can_retry = (
        row.attempts < MAX_ATTEMPTS
        and row.kind not in STREAMED
        and (row.kind not in PASSWORD_WRITES or bool(row.payload.get("guard")))
        and bool(others)
    )
    lapsed = AgentJob.objects.filter(pk=row.pk, state=JobState.LEASED, lease_until=row.lease_until)
    if can_retry:
        # Never back to the agent that let it lapse: a hung agent's open long polls
        # would otherwise take it again.
        moved = lapsed.update(
            state=JobState.QUEUED,
            leased_to=None,
            lease_until=None,
            payload={**row.payload, "passed_over": passed_over},
            expires_at=now + timedelta(seconds=settings.OPENSSPR_AGENT_JOB_SECONDS),
        )
        if not moved:
            return None
        _queued()
        if row.leased_to_id:
            Agent.objects.filter(pk=row.leased_to_id).update(jobs_failed=F("jobs_failed") + 1)
        return True
    ended = lapsed.update(state=JobState.LOST, finished_at=now, sealed={})
    return False if ended else None


def lease(agent: Agent) -> AgentJob | None:
    """The oldest job ``agent`` can run, now leased to it; None when there is none.

    A long poll authenticated once and then leases for up to 25 s: the agent is
    looked up again, so one revoked meanwhile takes nothing more, and its servers are
    the ones its latest heartbeat listed (``can_run``).
    """
    current = Agent.objects.filter(pk=agent.pk, revoked_at__isnull=True).first()
    if current is None:
        return None
    now = clock.now()
    mine = Q(secret=False) | Q(sealed__has_key=str(agent.id))
    candidates = (
        AgentJob.objects.filter(mine, state=JobState.QUEUED, expires_at__gt=now)
        .order_by("created_at")
        .values_list("pk", "payload")[:10]
    )
    lease_for = timedelta(seconds=settings.OPENSSPR_AGENT_LEASE_SECONDS)
    for pk, payload in candidates:
        if str(agent.pk) in payload.get("passed_over", ()) or not can_run(current, payload):
            continue
        with transaction.atomic():
            won = AgentJob.objects.filter(pk=pk, state=JobState.QUEUED).update(
                state=JobState.LEASED,
                leased_to=agent,
                lease_until=now + lease_for,
                attempts=F("attempts") + 1,
            )
        if won:
            return AgentJob.objects.get(pk=pk)
    return None


def for_agent(job: AgentJob, agent: Agent) -> dict[str, Any]:
    """The job as the agent receives it: only its own envelopes."""
    payload = {k: v for k, v in job.payload.items() if k != "passed_over"}
    payload["attempt"] = job.attempts
    return {
        "id": str(job.id),
        "kind": job.kind,
        "payload": payload,
        "sealed": job.sealed.get(str(agent.id), {}),
        "lease_seconds": settings.OPENSSPR_AGENT_LEASE_SECONDS,
    }


def finish(job_id: uuid.UUID, agent: Agent, result: Mapping[str, Any]) -> bool:
    """Record ``agent``'s answer; False if the job is no longer its own (lease lapsed)."""
    now = clock.now()
    failed = "error" in result
    with transaction.atomic():
        won = AgentJob.objects.filter(pk=job_id, state=JobState.LEASED, leased_to=agent).update(
            state=JobState.DONE, result=dict(result), finished_at=now, sealed={}
        )
        if won:
            counter = "jobs_failed" if failed else "jobs_done"
            Agent.objects.filter(pk=agent.pk).update(**{counter: F(counter) + 1})
    if won:
        mark_answered(job_id)  # for a request waiting in another process
        wake(job_id)
    return bool(won)


def call(
    kind: JobKind,
    payload: Mapping[str, Any],
    secrets: Mapping[str, str] | None = None,
) -> Any:
    """Submit and wait: what the agent connector does for each directory operation."""
    return wait(submit(kind, payload, secrets))
