"""The registration count: how many people could reset, and with what, on a day.

Counting who is *capable* means an eligibility decision per person, the same
one the registration report and the reset portal use (``reports.capability``):
time linear in the directory. Each person's decision is kept
(``reports.status``) and kept current as things change; a count is then one
aggregate over those rows. But a change no signal reported would leave a row
wrong forever, so a pass decides everyone again, ``STEP`` people per worker
turn, with its cursor kept in ``RollupState``, and writes the day's
``DailyRegistration`` row from the rows when the pass ends. It passes again
once the row is older than ``MIN_EVERY`` and ``PACE`` times the last pass's
duration, whichever is longer: a small directory's figures follow
registrations within minutes (the demo), a million people are counted every
few hours, and the worker never spends more than about 1/``PACE`` of its time
on it. The last pass of a day stays as that day's row: the trend.
``take_snapshot`` (the command) counts everyone at once.
"""

from datetime import date, datetime, timedelta

from django.db import transaction

from opensspr.accounts.models import User
from opensspr.core import clock
from opensspr.reports.models import DailyRegistration, RollupState
from opensspr.reports.status import count_statuses, decide_statuses, refresh_stale

#: People decided per worker turn (a fifth of a second).
STEP = 1000
MIN_EVERY = timedelta(minutes=5)
PACE = 50


def _due(state: RollupState | None, day: date, now: datetime) -> bool:
    """Whether a new pass should start: none under way and ``day``'s row missing or old."""
    if state is not None and state.snapshot_started_at is not None:
        return True  # one is under way: carry on
    taken = DailyRegistration.objects.filter(day=day).values_list("taken_at", flat=True).first()
    if taken is None:
        return True
    last = timedelta(seconds=state.snapshot_seconds if state else 0)
    return now - taken >= max(MIN_EVERY, PACE * last)


def take_snapshot_step(day: date, *, step: int = STEP) -> bool:
    """Count the next ``step`` people for ``day``; True when no count is under way after it."""
    now = clock.now()
    if not _due(RollupState.objects.filter(pk=1).first(), day, now):
        return True
    with transaction.atomic():
        RollupState.objects.get_or_create(pk=1)
        state = RollupState.objects.select_for_update().get(pk=1)
        if state.snapshot_started_at is None or state.snapshot_day != day:
            if not _due(state if state.snapshot_day == day else None, day, now):
                return True  # another worker just finished it
            state.snapshot_day, state.snapshot_started_at, state.snapshot_cursor = day, now, 0
        pks = list(
            User.objects.filter(pk__gt=state.snapshot_cursor)
            .order_by("pk")
            .values_list("pk", flat=True)[:step]
        )
        if pks:
            decide_statuses(pks)
            state.snapshot_cursor = pks[-1]
            state.save(update_fields=[*_PASS, "snapshot_cursor"])
            return False
        figures = count_statuses()
        DailyRegistration.objects.update_or_create(day=day, defaults={"taken_at": now, **figures})
        state.snapshot_seconds = (now - state.snapshot_started_at).total_seconds()
        state.snapshot_started_at, state.snapshot_cursor = None, 0
        state.save(update_fields=[*_PASS, "snapshot_cursor", "snapshot_seconds"])
        return True


_PASS = ("snapshot_day", "snapshot_started_at")


def run_status_turn(day: date) -> None:
    """The worker's turn: the people whose data changed, then a step of the pass."""
    refresh_stale()
    take_snapshot_step(day)


def take_snapshot(day: date, *, step: int = 5000) -> DailyRegistration:
    """Count everyone for ``day`` now, starting over whatever the worker was doing."""
    RollupState.objects.get_or_create(pk=1)
    RollupState.objects.filter(pk=1).update(
        snapshot_day=day, snapshot_started_at=clock.now(), snapshot_cursor=0
    )
    while not take_snapshot_step(day, step=step):
        pass
    return DailyRegistration.objects.get(day=day)
