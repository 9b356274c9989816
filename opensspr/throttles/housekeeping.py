"""Forgetting throttle subjects that hold nothing any more (the worker's periodic work).

Every subject that was ever counted keeps a row: each reset flow's contact checks,
each client address, each typed user ID's failures per method and kind of network
(the send step looks at that pause in the statement that locks its contact checks,
which creates the row). A row whose newest use is older than the longest window, with
no penalty in force, no back-off level and no remembered repeat says nothing a missing
row wouldn't: it goes. A back-off level or remembered repeats keep a row only in a scope
whose rules give them meaning (a growing penalty, a wrong password not counted twice),
and there only until a quiet window has passed, where every rule starts afresh after one
(smart lockout's quiet day): a sign-in spray over made-up user IDs leaves no row for good.

Safe against a take running at the same moment (attack A2's counts must never be
lost): the idle rows are locked first, skipping any a take holds; only then are they
deleted, by a second statement that looks at them again. A take adds its uses in the
statement that locks its subject's row, so once the lock is ours no use can arrive
unseen, and a take waiting for it finds the row gone and makes a fresh one. SQLite runs
one writer at a time anyway.
"""

import threading
import time
from collections.abc import Callable
from datetime import datetime

from django.db import connection, transaction
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from opensspr.core import clock
from opensspr.throttles import uses
from opensspr.throttles.models import Subject
from opensspr.throttles.penalties import Backoff
from opensspr.throttles.rules import Rule, Scope, rules_of

#: The periodic call runs this often at most per process (the table has no index for
#: "idle", and nothing is urgent about it), and deletes this many rows a statement, as
#: long as full batches come back, up to ``BATCHES`` a turn.
EVERY_SECONDS = 600.0
BATCH = 2000
BATCHES = 10


class _Every:
    """Whether ``seconds`` have passed since the last time it said yes (thread-safe)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.last: float | None = None
        self._lock = threading.Lock()

    def due(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if self.last is not None and now - self.last < self.seconds:
                return False
            self.last = now
            return True


_turn = _Every(EVERY_SECONDS)


def purge_idle_due() -> int:
    """The worker's periodic call (``channels.register_due_work``): ``purge_idle`` every
    ``EVERY_SECONDS``, again while a batch comes back full (up to ``BATCHES``)."""
    if not _turn.due():
        return 0
    purged = 0
    for _ in range(BATCHES):
        deleted = purge_idle(batch=BATCH)
        purged += deleted
        if deleted < BATCH:
            break
    return purged


def purge_idle(now: datetime | None = None, *, batch: int = BATCH) -> int:
    """Delete up to ``batch`` subject rows that hold nothing; returns how many went."""
    at = now or clock.now()
    column = connection.ops.quote_name("uses")
    recent_use = RawSQL(  # noqa: S611 - a quoted column name and a parameter
        uses.newest_after_sql(column),
        [uses.stamp(at - uses.LONGEST_WINDOW)],
        output_field=BooleanField(),
    )
    quiet_since = at - uses.LONGEST_WINDOW  # a quiet-reset rule counts until a quiet window
    settled = (
        # Level and remembered repeats mean nothing in these scopes (fixed blocks only)...
        Q(last_use_at__isnull=True) & (~Q(scope__in=_REMEMBERING) | Q(level=0, recent=[]))
        # ...and in these a quiet day starts the count afresh at the next take anyway.
        | Q(scope__in=_QUIET, last_use_at__lt=quiet_since)
    )
    idle = settled & (Q(blocked_until__isnull=True) | Q(blocked_until__lte=at)) & ~Q(recent_use)
    candidates = Subject.objects.filter(idle).values_list("pk", flat=True)
    if connection.vendor != "postgresql":
        # One writer at a time: read without the write lock (a scan of the whole table),
        # then delete in one statement that looks at each row again.
        found = list(candidates[:batch])
        return Subject.objects.filter(idle, pk__in=found).delete()[0] if found else 0
    with transaction.atomic():
        locked = list(candidates.select_for_update(skip_locked=True)[:batch])
        if not locked:
            return 0
        deleted, _ = Subject.objects.filter(idle, pk__in=locked).delete()
    return deleted


def _scopes(has: Callable[[Rule], bool], *, every: bool = False) -> list[str]:
    """The scopes of which some rule (``every``: each rule) ``has`` it."""
    pick = all if every else any
    return sorted(
        scope.value for scope in Scope if (rules := rules_of(scope)) and pick(map(has, rules))
    )


#: Scopes where a row's back-off level or remembered repeats count: a growing penalty, or
#: the same wrong password not counted twice.
_REMEMBERING = _scopes(lambda rule: isinstance(rule.penalty, Backoff) or rule.distinct > 0)
#: Scopes whose every rule starts afresh after a quiet window (smart lockout's).
_QUIET = _scopes(lambda rule: rule.quiet_reset, every=True)
