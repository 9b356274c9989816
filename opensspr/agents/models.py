"""Agents and their jobs.

An ``Agent`` row is made by an administrator and holds, until the agent
enrols, only the keyed digest of a one-time enrolment token. Enrolling stores
the agent's X25519 public key (what passwords are sealed to) and the keyed
digest of its own credential: the server can check both tokens but can give
neither back. Revoking an agent refuses its credential from then on.

An ``AgentJob`` is one directory operation waiting for, or leased to, an
agent. Its ``payload`` never holds a secret; a password travels only in
``sealed``, one envelope per agent that may run the job, and the envelopes
are wiped as soon as the job ends.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from opensspr.accounts.models import User


class Agent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=100)
    created_at = models.DateTimeField(_("created"))
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    enrolment_digest = models.CharField(max_length=64, blank=True)
    enrolment_expires_at = models.DateTimeField(null=True)
    enrolled_at = models.DateTimeField(_("enrolled"), null=True)
    public_key = models.CharField(max_length=64, blank=True)
    credential_digest = models.CharField(max_length=64, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True)
    version = models.CharField(_("version"), max_length=32, blank=True)
    protocol = models.PositiveSmallIntegerField(default=0)
    address = models.GenericIPAddressField(_("address"), null=True)
    host = models.CharField(_("host name"), max_length=255, blank=True)
    last_heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True)
    last_poll_at = models.DateTimeField(null=True)
    probe_state = models.CharField(max_length=16, blank=True)
    probe_code = models.CharField(max_length=64, blank=True)
    server_error_at = models.DateTimeField(null=True)  # it last reported errors from us
    # The directory servers its configuration lists (``host:port``), from its heartbeat: a job
    # pinned to one of them (security bar F5) goes only to agents that list it.
    servers = models.JSONField(default=list, blank=True)
    jobs_done = models.PositiveIntegerField(_("jobs done"), default=0)
    jobs_failed = models.PositiveIntegerField(_("jobs failed"), default=0)

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def active(self) -> bool:
        return self.enrolled_at is not None and self.revoked_at is None


class JobState(models.TextChoices):
    QUEUED = "queued", _("waiting for an agent")
    LEASED = "leased", _("with an agent")
    DONE = "done", _("done")
    EXPIRED = "expired", _("no agent took it in time")
    LOST = "lost", _("its agent didn't answer")


class AgentJob(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16)
    payload = models.JSONField(default=dict)
    secret = models.BooleanField(default=False)  # carries sealed fields
    sealed = models.JSONField(default=dict)  # {agent id: {field: envelope}}
    state = models.CharField(max_length=8, choices=JobState.choices, default=JobState.QUEUED)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()  # taken by no agent by then: expired
    attempts = models.PositiveSmallIntegerField(default=0)
    leased_to = models.ForeignKey(Agent, null=True, on_delete=models.SET_NULL, related_name="+")
    lease_until = models.DateTimeField(null=True)
    result = models.JSONField(null=True)
    finished_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [models.Index(fields=["state", "created_at"], name="agentjob_queue")]

    def __str__(self) -> str:
        return f"{self.kind} {self.state}"


class AgentJobPart(models.Model):
    """One part of a streamed answer (a sync read), kept until the requester took it."""

    job = models.ForeignKey(AgentJob, on_delete=models.CASCADE, related_name="parts")
    seq = models.PositiveIntegerField()
    entries = models.JSONField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "seq"], name="agentjobpart_once")]

    def __str__(self) -> str:
        return f"{self.job_id} part {self.seq}"
