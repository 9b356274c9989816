"""Tidying the job queue: the worker's periodic call, apart from the queue's live path.

Answered jobs are forgotten after ``KEEP_FINISHED``; a job whose requester went away
(its process restarted) expires, and one whose agent vanished past its lease is lost;
both with their sealed envelopes wiped, so no secret outlives the job it was for.
"""

from datetime import timedelta

from django.conf import settings

from opensspr.agents.models import AgentJob, JobState
from opensspr.core import clock

KEEP_FINISHED = timedelta(days=1)


def prune_finished() -> None:
    """The worker's periodic call: forget answered jobs and wipe stale envelopes."""
    now = clock.now()
    AgentJob.objects.filter(created_at__lt=now - KEEP_FINISHED).delete()
    # Jobs whose requester went away (its process restarted) end here, envelopes wiped.
    AgentJob.objects.filter(state=JobState.QUEUED, expires_at__lt=now).update(
        state=JobState.EXPIRED, finished_at=now, sealed={}
    )
    lapsed = now - timedelta(seconds=settings.OPENSSPR_AGENT_LEASE_SECONDS)
    AgentJob.objects.filter(state=JobState.LEASED, lease_until__lt=lapsed).update(
        state=JobState.LOST, finished_at=now, sealed={}
    )
