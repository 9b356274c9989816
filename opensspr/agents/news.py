"""How a request waiting for its job hears that an answer came, without asking the database.

Two kinds of news. An answer this process took wakes the waiting request at
once (a ``threading.Event`` per job). An answer another process took leaves a
marker in the shared cache (Redis in scale-out; in the embedded default there
is one process, so the event already told it), which the request looks at every
``POLL_SECONDS``. Either way the request then reads its job's row; without news
it reads it every ``READ_EVERY_SECONDS`` only, to see the job expire or its lease
lapse. Before the marker every waiting request read the row every 20 ms.

A streamed answer (sync's reads) comes in parts, each a row the requester takes
in order. The marker for parts is how many the agent has handed in so far
(``parts_posted``): the reader looks at it every ``POLL_SECONDS`` and reads the
part's row when the one it waits for is there.

With a process-local cache (the embedded default's memory) a marker left by
another process never shows here: a command or the worker waiting for an answer
the web process took. There the row is still read every ``POLL_SECONDS``.
"""

import threading
import uuid

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache

POLL_SECONDS = 0.02  # how often a waiting request looks for news
READ_EVERY_SECONDS = 0.5  # how often it reads its job's row when there is none
_ANSWERED = "agents.job.answered."
_PARTS = "agents.job.parts."

_wakers: dict[uuid.UUID, threading.Event] = {}
_wakers_lock = threading.Lock()


def news_for(job_id: uuid.UUID) -> threading.Event:
    """The event this process sets when it takes an answer for ``job_id``."""
    waker = threading.Event()
    with _wakers_lock:
        _wakers[job_id] = waker
    return waker


def forget(job_id: uuid.UUID) -> None:
    with _wakers_lock:
        _wakers.pop(job_id, None)


def wake(job_id: uuid.UUID) -> None:
    with _wakers_lock:
        waker = _wakers.get(job_id)
    if waker is not None:
        waker.set()


def read_every() -> float:
    """How often to read a waiting job's row without news (see the module's docstring)."""
    shared = not isinstance(caches["default"], LocMemCache)
    return READ_EVERY_SECONDS if shared else POLL_SECONDS


def answered(job_id: uuid.UUID) -> bool:
    """Whether any process recorded an answer for ``job_id``; True when the cache can't say."""
    try:
        return cache.get(_ANSWERED + str(job_id)) is not None
    except Exception:  # Redis down: read the row, as before the marker
        return True


def mark_answered(job_id: uuid.UUID) -> None:
    try:
        cache.set(_ANSWERED + str(job_id), 1, timeout=settings.OPENSSPR_AGENT_JOB_SECONDS + 600)
    except Exception:  # Redis down: the waiting request's timed read still sees the answer
        return


def mark_part(job_id: uuid.UUID, seq: int) -> None:
    """Part ``seq`` of ``job_id``'s answer is in: ``seq + 1`` parts posted so far."""
    try:
        cache.set(_PARTS + str(job_id), seq + 1, timeout=settings.OPENSSPR_AGENT_JOB_SECONDS + 600)
    except Exception:  # Redis down: the reader's timed read still finds the part
        return


def parts_posted(job_id: uuid.UUID) -> int | None:
    """How many parts of ``job_id``'s answer were handed in; None when the cache can't say."""
    try:
        return int(cache.get(_PARTS + str(job_id), 0))
    except Exception:  # Redis down: read the rows, as before the marker
        return None
