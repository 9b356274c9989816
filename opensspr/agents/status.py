"""What the console says about the agents: one of six statuses, from real state.

The six follow the writeback client's statuses of sspr-behaviour §7.5, in our
own words: running; running but outdated; too old to tell; can't connect;
not configured correctly; a temporary problem on our side. Each agent gets
one from its own row (last contact, protocol, version, its latest directory
probe, the server errors it met); the directory gets the best of its agents',
since any one of them can do the work.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import DatabaseError
from django.utils.translation import gettext_lazy as _

import opensspr
from opensspr.agents.jobs import window
from opensspr.agents.models import Agent, AgentJob
from opensspr.core import clock
from opensspr.core.health import HealthState
from opensspr.directory.errors import DirectoryCode
from opensspr.directory.jobs import PROTOCOL

#: Agents speaking an older protocol can't report their status in a way we understand.
MINIMUM_PROTOCOL = PROTOCOL


class Status:
    RUNNING = "running"
    OUTDATED = "outdated"
    TOO_OLD = "too_old"
    UNREACHABLE = "unreachable"
    MISCONFIGURED = "misconfigured"
    SERVER_PROBLEM = "server_problem"


#: Best first: the directory shows the best status any of its agents has.
ORDER = (
    Status.RUNNING,
    Status.OUTDATED,
    Status.SERVER_PROBLEM,
    Status.MISCONFIGURED,
    Status.TOO_OLD,
    Status.UNREACHABLE,
)

MESSAGES = {
    Status.RUNNING: _("Your on-premises agent is up and running."),
    Status.OUTDATED: _(
        "This server is connected to your on-premises agent, but the agent is an older "
        "version than the server. Upgrade the agent to get the latest fixes."
    ),
    Status.TOO_OLD: _(
        "We can't check your on-premises agent because its version is too old to report "
        "its status. Upgrade the agent to see its status here."
    ),
    Status.UNREACHABLE: _(
        "We can't reach your on-premises agent right now: no agent has been heard from "
        "recently. Check that the agent service is running and can open outbound HTTPS "
        "connections to this server."
    ),
    Status.MISCONFIGURED: _(
        "Your on-premises agent is connected but can't work with your directory because "
        "it isn't configured correctly. Fix what the finding below names, on the agent's "
        "host."
    ),
    Status.SERVER_PROBLEM: _(
        "Your on-premises agent is connected, but a temporary problem on our side keeps it "
        "from taking work. If this persists, check this server's database and its log."
    ),
}
NOT_SET_UP = _(
    "No on-premises agent is set up yet, so passwords can't be written back. Add an agent "
    "below and enrol it on a host that can reach your directory."
)

#: What an agent's failed directory probe means, for the administrator.
FINDINGS = {
    DirectoryCode.SERVICE_BIND_FAILED: _(
        "the agent's service account can't sign in to the directory: check its DN and "
        "password, and that the account isn't locked, disabled or expired"
    ),
    DirectoryCode.PERMISSION_DENIED: _(
        "the agent's service account lacks the rights to reset passwords and unlock accounts"
    ),
    DirectoryCode.TLS_FAILURE: _(
        "the directory's certificate isn't trusted by the agent, or doesn't carry the "
        "server's name: check the agent's CA file and server name"
    ),
    DirectoryCode.UNAVAILABLE: _(
        "the agent can't reach any directory server: check the server URLs in the agent's "
        "configuration and the network between them"
    ),
    DirectoryCode.POLICY_CONTROL_UNSUPPORTED: _(
        "the domain controllers don't support the password policy-hints control"
    ),
}
UNKNOWN_FINDING = _("the agent's directory probe failed (%(code)s)")


@dataclass(frozen=True)
class AgentStatus:
    agent: Agent
    status: str
    finding: str = ""

    @property
    def message(self) -> str:
        return str(MESSAGES[self.status])


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def finding_for(code: str) -> str:
    text = FINDINGS.get(code)  # type: ignore[call-overload]  # codes arrive as plain text
    return str(text) if text else str(UNKNOWN_FINDING) % {"code": code or "?"}


def of_agent(agent: Agent, *, now: datetime | None = None) -> AgentStatus:
    now = now or clock.now()
    last = agent.last_poll_at
    if last is None or now - last >= window():
        return AgentStatus(agent, Status.UNREACHABLE)
    if agent.protocol < MINIMUM_PROTOCOL:
        return AgentStatus(agent, Status.TOO_OLD)
    if agent.server_error_at and now - agent.server_error_at < window():
        return AgentStatus(agent, Status.SERVER_PROBLEM)
    if agent.last_heartbeat_at and agent.probe_state != HealthState.HEALTHY:
        return AgentStatus(agent, Status.MISCONFIGURED, finding_for(agent.probe_code))
    if _version(agent.version) < _version(opensspr.__version__):
        return AgentStatus(agent, Status.OUTDATED)
    return AgentStatus(agent, Status.RUNNING)


@dataclass(frozen=True)
class DirectoryStatus:
    status: str
    message: str
    finding: str
    agents: list[AgentStatus]


def of_directory(*, now: datetime | None = None) -> DirectoryStatus:
    """The status the console leads with, and each agent's."""
    try:
        agents = [
            of_agent(agent, now=now)
            for agent in Agent.objects.filter(enrolled_at__isnull=False, revoked_at__isnull=True)
        ]
        AgentJob.objects.exists()  # the queue itself must answer too
    except DatabaseError:
        status = Status.SERVER_PROBLEM
        return DirectoryStatus(status, str(MESSAGES[status]), "", [])
    if not agents:
        return DirectoryStatus(Status.MISCONFIGURED, str(NOT_SET_UP), "", [])
    best = min(agents, key=lambda each: ORDER.index(each.status))
    return DirectoryStatus(best.status, best.message, best.finding, agents)
