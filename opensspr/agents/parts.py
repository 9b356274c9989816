"""A streamed answer (sync's reads): the agent hands it in as parts, the requester takes them.

Each part is a row (``AgentJobPart``) the requester takes (deletes) in order; the
agent may run ``MAX_UNREAD_PARTS`` ahead, no more, so a slow reader holds the
directory read back instead of filling the database. The job itself (lease,
answer, expiry) is ``jobs``' like any other.
"""

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from opensspr.agents.jobs import _settled, _unavailable
from opensspr.agents.models import Agent, AgentJob, AgentJobPart, JobState
from opensspr.agents.news import (
    POLL_SECONDS,
    answered,
    forget,
    mark_part,
    news_for,
    parts_posted,
    read_every,
    wake,
)
from opensspr.core import clock
from opensspr.directory.jobs import STREAMED

#: Parts an agent may send ahead of the requester taking them (back-pressure).
MAX_UNREAD_PARTS = 8


class TooManyPartsError(Exception):
    """The requester hasn't taken the earlier parts yet: send this one again shortly."""


def add_part(job_id: uuid.UUID, agent: Agent, seq: int, entries: list[Any]) -> bool:
    """Keep one part of a streamed answer; the lease runs on while parts keep coming."""
    if AgentJobPart.objects.filter(job_id=job_id).count() >= MAX_UNREAD_PARTS:
        raise TooManyPartsError
    now = clock.now()
    lease_for = timedelta(seconds=settings.OPENSSPR_AGENT_LEASE_SECONDS)
    with transaction.atomic():
        mine = AgentJob.objects.filter(
            pk=job_id, state=JobState.LEASED, leased_to=agent, kind__in=list(STREAMED)
        ).update(lease_until=now + lease_for)
        if mine:
            AgentJobPart.objects.get_or_create(
                job_id=job_id, seq=seq, defaults={"entries": entries}
            )
    if mine:
        mark_part(job_id, seq)  # for a reader in another process (sync in the worker)
        wake(job_id)
    return bool(mine)


def stream(job: AgentJob) -> Iterator[list[Any]]:
    """The parts of a streamed answer, in order, each taken (deleted) as it is yielded.

    Read as ``wait`` reads: when there is news (this process took a part or the
    answer; another one did, says the shared cache) and at least every
    ``read_every()``. Before, a reader waiting for a part read two rows every 20 ms.
    """
    waker = news_for(job.id)
    seq = 0
    try:
        news, next_read = True, 0.0
        while True:
            if not (news or time.monotonic() >= next_read or _more(job.pk, seq)):
                news = waker.wait(POLL_SECONDS)
                waker.clear()
                continue
            part = AgentJobPart.objects.filter(job_id=job.pk, seq=seq).first()
            if part is not None:
                entries = part.entries
                part.delete()
                seq += 1
                yield entries
                news = True  # the next part may be in already
                continue
            row = AgentJob.objects.filter(pk=job.pk).first()
            if row is None:
                raise _unavailable("the job vanished", maybe_written=False)
            outcome = _settled(row)
            if outcome is not None:
                parts = (outcome() or {}).get("parts", 0)  # raises the agent's error
                if seq >= parts:
                    return
                if not AgentJobPart.objects.filter(job_id=job.pk, seq=seq).exists():
                    raise _unavailable("a part of the answer never came", maybe_written=False)
                continue  # the last parts came with the answer: take them
            next_read = time.monotonic() + read_every()
            news = waker.wait(POLL_SECONDS)
            waker.clear()
    finally:
        forget(job.id)


def _more(job_id: uuid.UUID, seq: int) -> bool:
    """Whether part ``seq`` or the answer may be in, by the shared cache's markers."""
    posted = parts_posted(job_id)
    return posted is None or posted > seq or answered(job_id)
