"""The endpoints agents dial out to (``/agent/v1/``): enrol, heartbeat, take a job, answer it.

Agents authenticate with ``Authorization: Agent <id>.<credential>`` (their own
credential, from enrolment); enrolment itself presents the one-time token.
Answers are JSON; refusals are ``application/problem+json`` with a stable
``type``, so the agent can tell "revoked" from "try again later".

``jobs/next`` is a long poll (an async view, outside the per-process bound on
people's requests, so waiting agents never queue a person); it reads the
queue when the queue's generation moved (``jobs.queue_generation``).
"""

import asyncio
import json
import math
import time
import uuid
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

import opensspr
from opensspr.agents import jobs, parts, services
from opensspr.agents.models import Agent
from opensspr.core.request_meta import request_meta
from opensspr.directory.jobs import PROTOCOL
from opensspr.throttles import rules
from opensspr.throttles.service import hit

MAX_WAIT_SECONDS = 25.0
POLL_SECONDS = 0.01  # how often a waiting poll looks at the queue's generation (a cache read)


def _db_poll_seconds() -> float:
    """How often a waiting poll reads the queue itself, whatever the generation says.

    With a shared cache (Redis) every process moves the generation every poll sees:
    once a second is a safety net. With a cache of this process only (the embedded
    default), jobs queued by another process (the worker, a command) don't move
    it: read the queue every 50 ms.
    """
    backend = str(settings.CACHES["default"]["BACKEND"])
    return 0.05 if backend.endswith("LocMemCache") else 1.0


MAX_BODY = 64 * 1024


def _problem(status: int, kind: str, title: str) -> JsonResponse:
    return JsonResponse(
        {"type": f"urn:opensspr:agent:{kind}", "title": title, "status": status},
        status=status,
        content_type="application/problem+json",
    )


def _body(request: HttpRequest) -> dict[str, Any] | None:
    if len(request.body) > MAX_BODY:
        return None
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _agent(request: HttpRequest) -> Agent | None:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Agent" or not presented:
        return None
    return services.authenticate(presented.strip())


def _unauthorised() -> JsonResponse:
    return _problem(401, "unauthorised", "Unknown or revoked agent credential.")


def _settings() -> dict[str, Any]:
    return {
        "heartbeat_seconds": settings.OPENSSPR_AGENT_HEARTBEAT_SECONDS,
        "protocol": PROTOCOL,
        "server_version": opensspr.__version__,
    }


@csrf_exempt
@require_POST
def enrol(request: HttpRequest) -> HttpResponse:
    meta = request_meta(request)
    if not hit(rules.AGENT_ENROLMENT_PER_ADDRESS, meta.ip_address or "unknown").allowed:
        return _problem(429, "throttled", "Too many enrolment attempts; try again later.")
    data = _body(request)
    if data is None:
        return _problem(400, "bad_request", "Send a JSON object.")
    try:
        enrolled = services.enrol(
            token=str(data.get("token", "")),
            public_key=str(data.get("public_key", "")),
            version=str(data.get("version", "")),
            host=str(data.get("host", "")),
            meta=meta,
        )
    except services.EnrolmentError:
        return _problem(
            403,
            "enrolment_refused",
            "The enrolment token is unknown, used or expired, or the public key isn't valid. "
            "Create a new agent in the console for a new token.",
        )
    return JsonResponse(
        {"agent_id": str(enrolled.agent.id), "credential": enrolled.credential, **_settings()},
        status=201,
    )


@csrf_exempt
@require_POST
def heartbeat(request: HttpRequest) -> HttpResponse:
    agent = _agent(request)
    if agent is None:
        return _unauthorised()
    data = _body(request)
    if data is None:
        return _problem(400, "bad_request", "Send a JSON object.")
    services.heartbeat(agent, data, request_meta(request))
    return JsonResponse(_settings())


@csrf_exempt
async def next_job(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _problem(405, "method_not_allowed", "POST only.")
    agent = await sync_to_async(_agent)(request)
    if agent is None:
        return _unauthorised()
    meta = request_meta(request)
    try:
        wait = float(request.GET.get("wait", MAX_WAIT_SECONDS))
    except ValueError:
        wait = MAX_WAIT_SECONDS
    wait = min(wait, MAX_WAIT_SECONDS) if math.isfinite(wait) else MAX_WAIT_SECONDS
    deadline = time.monotonic() + max(wait, 0.0)
    try:
        await sync_to_async(_released(services.seen))(agent, meta)
        seen_generation: int | None = None
        read_at, db_poll = 0.0, _db_poll_seconds()
        while True:
            # The queue is read when a job was queued since (the generation moved), and
            # at least every ``db_poll`` seconds whatever the cache says.
            generation = jobs.queue_generation()
            now = time.monotonic()
            moved = generation is None or generation != seen_generation
            if moved or now - read_at >= db_poll:
                seen_generation, read_at = generation, now
                job = await sync_to_async(_released(jobs.lease))(agent)
                if job is not None:
                    return JsonResponse({"job": jobs.for_agent(job, agent)})
            if now >= deadline:
                await sync_to_async(_released(services.seen))(agent, meta)
                return HttpResponse(status=204)
            await asyncio.sleep(POLL_SECONDS)
    except DatabaseError:
        return _problem(503, "unavailable", "The server's job queue is unavailable.")


def _released[**P, R](read: Callable[P, R]) -> Callable[P, R]:
    """``read``, then the thread's database connection given back: a poll waits up to
    25 s between reads, and on PostgreSQL a connection it held all that time was one
    fewer in the worker's pool for people's requests (docs/operators/deployment.md)."""

    def released(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return read(*args, **kwargs)
        finally:
            connection.close()

    return released


MAX_PART_BODY = 16 * 1024 * 1024  # one part of a sync read: about PART_BYTES, base64'd


def _part_body(request: HttpRequest) -> tuple[int, list[Any]] | None:
    """``(seq, entries)`` of a part; read from the stream: it passes Django's form limit."""
    raw = request.read(MAX_PART_BODY + 1)
    try:
        data = json.loads(raw) if len(raw) <= MAX_PART_BODY else None
        seq = int(data.get("seq", -1)) if isinstance(data, dict) else -1
    except (TypeError, ValueError):
        return None
    if seq < 0 or not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        return None
    return seq, data["entries"]


@csrf_exempt
@require_POST
def job_part(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """One part of a streamed answer (a sync read's entries)."""
    agent = _agent(request)
    if agent is None:
        return _unauthorised()
    part = _part_body(request)
    if part is None:
        return _problem(400, "bad_request", "Send {seq, entries}, seq a number from 0.")
    seq, entries = part
    try:
        taken = parts.add_part(job_id, agent, seq, entries)
    except parts.TooManyPartsError:
        return _problem(429, "slow_down", "Earlier parts are still being read; send it again.")
    except DatabaseError:
        return _problem(503, "unavailable", "The server's job queue is unavailable.")
    if not taken:
        return _problem(409, "not_yours", "The job is no longer leased to this agent.")
    return JsonResponse({"ok": True})


@csrf_exempt
@require_POST
def job_result(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    agent = _agent(request)
    if agent is None:
        return _unauthorised()
    data = _body(request)
    if data is None or not ({"value", "error"} & data.keys()):
        return _problem(400, "bad_request", "Send {value} or {error}.")
    error = data.get("error")
    if "error" in data and not (isinstance(error, dict) and isinstance(error.get("code"), str)):
        return _problem(400, "bad_request", "An error is {family, code}.")
    result = {"error": data["error"]} if "error" in data else {"value": data["value"]}
    try:
        taken = jobs.finish(job_id, agent, result)
    except DatabaseError:
        return _problem(503, "unavailable", "The server's job queue is unavailable.")
    if not taken:
        return _problem(409, "not_yours", "The job is no longer leased to this agent.")
    return JsonResponse({"ok": True})
