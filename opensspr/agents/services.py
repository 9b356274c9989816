"""Adding, enrolling, revoking and hearing from agents; each write audited with it.

Tokens: the one-time enrolment token and the agent's credential are 32 random
bytes each, shown once (the token to the administrator, the credential to the
agent) and stored only as keyed digests, compared in constant time. An agent
presents ``<agent id>.<credential>``; the id finds the row, the digest must
match, and a revoked agent is refused however right its credential is.
"""

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction

from opensspr.accounts.models import User
from opensspr.agents.models import Agent, AgentJob, JobState
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.core import clock
from opensspr.core.crypto import keyed_digest, secrets_equal
from opensspr.core.health import HealthState
from opensspr.core.request_meta import RequestMeta
from opensspr.directory.jobs import PROTOCOL
from opensspr.directory.sealing import SealError, public_key_from, seal

ENROLMENT_LIFETIME = timedelta(hours=24)
_TOKEN = "agents.enrolment"  # noqa: S105
_CREDENTIAL = "agents.credential"


class EnrolmentError(Exception):
    """The token is unknown, used, expired or revoked, or the key isn't one."""


@dataclass(frozen=True)
class NewAgent:
    agent: Agent
    token: str  # shown once; only its digest is kept


def create_agent(*, name: str, actor: User | None, meta: RequestMeta) -> NewAgent:
    """A new agent slot and its one-time enrolment token (valid 24 hours)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    with transaction.atomic():
        agent = Agent.objects.create(
            name=name.strip()[:100] or "agent",
            created_at=now,
            created_by=actor,
            enrolment_digest=keyed_digest(_TOKEN, token),
            enrolment_expires_at=now + ENROLMENT_LIFETIME,
        )
        record_event(
            activity=Activity.AGENT_CREATED,
            outcome=Outcome.SUCCESS,
            meta=meta,
            actor=actor,
            target_label=agent.name,
            details={"agent": str(agent.id)},
        )
    # The token names its agent, so enrolment needn't search every row's digest.
    return NewAgent(agent, f"{agent.id}.{token}")


@dataclass(frozen=True)
class Enrolled:
    agent: Agent
    credential: str  # handed to the agent once


def _split(presented: str) -> tuple[uuid.UUID, str] | None:
    head, _, secret = presented.partition(".")
    try:
        return uuid.UUID(head), secret
    except ValueError:
        return None


def enrol(*, token: str, public_key: str, version: str, host: str, meta: RequestMeta) -> Enrolled:
    """Exchange a one-time token and the agent's public key for its own credential."""
    now = clock.now()
    parts = _split(token)
    with transaction.atomic():
        agent = (
            Agent.objects.select_for_update().filter(pk=parts[0]).first()
            if parts is not None
            else None
        )
        usable = (
            agent is not None
            and parts is not None
            and agent.enrolled_at is None
            and agent.revoked_at is None
            and agent.enrolment_expires_at is not None
            and now < agent.enrolment_expires_at
            and secrets_equal(agent.enrolment_digest, keyed_digest(_TOKEN, parts[1]))
        )
        try:  # a key we can really seal to (X25519 refuses low-order points here)
            seal(public_key_from(public_key), "probe", context="enrolment")
        except (SealError, ValueError):
            usable = False
        if not usable or agent is None:
            record_event(
                activity=Activity.AGENT_ENROLMENT_REFUSED,
                outcome=Outcome.FAILURE,
                meta=meta,
                reason="invalid_token_or_key",
            )
            raise EnrolmentError("the enrolment token or public key is not valid")
        credential = secrets.token_urlsafe(32)
        agent.enrolled_at = now
        agent.enrolment_digest = ""
        agent.public_key = public_key
        agent.credential_digest = keyed_digest(_CREDENTIAL, credential)
        agent.version = version[:32]
        agent.protocol = PROTOCOL
        agent.host = host[:255]
        agent.address = meta.ip_address
        agent.last_poll_at = now
        agent.save()
        record_event(
            activity=Activity.AGENT_ENROLLED,
            outcome=Outcome.SUCCESS,
            meta=meta,
            target_label=agent.name,
            details={"agent": str(agent.id), "version": agent.version},
        )
    return Enrolled(agent, f"{agent.id}.{credential}")


def authenticate(presented: str) -> Agent | None:
    """The enrolled, unrevoked agent that ``presented`` is the credential of, else None."""
    parts = _split(presented)
    if parts is None:
        return None
    agent = Agent.objects.filter(pk=parts[0]).first()
    expected = agent.credential_digest if agent is not None else "0" * 64
    matches = secrets_equal(expected, keyed_digest(_CREDENTIAL, parts[1]))
    if agent is None or not matches or not agent.active:
        return None
    return agent


def revoke(agent: Agent, *, actor: User | None, meta: RequestMeta) -> None:
    """From now on the agent's credential is refused and no job is sealed to it.

    Its envelopes in waiting jobs are wiped, and the jobs it holds are handed back
    (their lease ends now), so nothing more reaches it.
    """
    now = clock.now()
    with transaction.atomic():
        Agent.objects.filter(pk=agent.pk, revoked_at__isnull=True).update(revoked_at=now)
        key = str(agent.pk)
        for job in AgentJob.objects.select_for_update().filter(state=JobState.QUEUED, secret=True):
            if key in job.sealed:
                job.sealed.pop(key)
                job.save(update_fields=["sealed"])
        AgentJob.objects.filter(state=JobState.LEASED, leased_to=agent).update(lease_until=now)
        record_event(
            activity=Activity.AGENT_REVOKED,
            outcome=Outcome.SUCCESS,
            meta=meta,
            actor=actor,
            target_label=agent.name,
            details={"agent": str(agent.id)},
        )


def seen(agent: Agent, meta: RequestMeta) -> None:
    """The agent is polling: it counts as connected."""
    Agent.objects.filter(pk=agent.pk).update(last_poll_at=clock.now(), address=meta.ip_address)


def heartbeat(agent: Agent, report: dict[str, Any], meta: RequestMeta) -> None:
    """Record the agent's version and the result of its own directory probe.

    Not audited: it comes every half minute; the agent row keeps the latest.
    """
    probe = report.get("probe") if isinstance(report.get("probe"), dict) else {}
    state = str(probe.get("state", "")) if probe else ""
    now = clock.now()
    if _small_int(report.get("server_errors")):
        Agent.objects.filter(pk=agent.pk).update(server_error_at=now)
    Agent.objects.filter(pk=agent.pk).update(
        version=str(report.get("version", ""))[:32],
        protocol=_small_int(report.get("protocol")),
        host=str(report.get("host", ""))[:255],
        address=meta.ip_address,
        last_heartbeat_at=now,
        last_poll_at=now,
        probe_state=state if state in HealthState.__members__.values() else HealthState.DOWN,
        probe_code=str(probe.get("detail", ""))[:64] if probe else "",
        servers=_servers(report.get("servers")),
    )


def _servers(value: object) -> list[str]:
    """The agent's server addresses as reported: a few short strings, nothing else kept."""
    if not isinstance(value, list):
        return []
    return [str(item)[:255] for item in value[:32] if isinstance(item, str)]


def _small_int(value: object) -> int:
    try:
        return max(0, min(int(str(value)), 32767))
    except ValueError:
        return 0
