"""The registration count: how many people could reset, and with what, on a day.

Counting who is *capable* means an eligibility decision per person, the same
one the registration report and the reset portal use (``reports.capability``):
time linear in the directory. So the worker counts ``STEP`` people per turn,
with its cursor and partial counts kept in ``RollupState``, and writes the
day's ``DailyRegistration`` row when the pass ends. It counts again once the
row is older than ``MIN_EVERY`` and ``PACE`` times the last pass's duration,
whichever is longer: a small directory's figures follow registrations within
minutes (the demo), a million people are counted every few hours, and the
worker never spends more than about 1/``PACE`` of its time on it. The last
pass of a day stays as that day's row: the trend. ``take_snapshot`` (the
command) counts everyone at once.
"""

from datetime import date, datetime, timedelta

from django.db import transaction

from opensspr.accounts.models import User
from opensspr.core import clock
from opensspr.policy.reset_selectors import get_sspr_policy
from opensspr.reports.capability import iter_capabilities
from opensspr.reports.models import SNAPSHOT_COUNTERS, DailyRegistration, RollupState
from opensspr.reports.registered import summary_of_annotated, users_with_registration_counts

#: People evaluated per worker turn (a fifth of a second).
STEP = 1000
MIN_EVERY = timedelta(minutes=5)
PACE = 50


def count_people(pks: list[int]) -> dict[str, int]:
    """The snapshot's counters over the users ``pks``."""
    policy = get_sspr_policy()
    counts = dict.fromkeys(SNAPSHOT_COUNTERS, 0)
    users = users_with_registration_counts(User.objects.filter(pk__in=pks).order_by("pk"))
    for user, (capability,) in iter_capabilities(users, (policy,)):
        info = summary_of_annotated(user, policy)
        counts["users"] += 1
        counts["enabled"] += capability.enabled
        counts["registered"] += capability.registered
        counts["capable"] += capability.capable
        counts["never_registered"] += not info.methods
        for kind in info.kinds:
            counts[kind.value] += 1
    return counts


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
            state.snapshot_day, state.snapshot_started_at = day, now
            state.snapshot_cursor, state.snapshot_partial = 0, {}
        pks = list(
            User.objects.filter(pk__gt=state.snapshot_cursor)
            .order_by("pk")
            .values_list("pk", flat=True)[:step]
        )
        partial = {k: int(state.snapshot_partial.get(k, 0)) for k in SNAPSHOT_COUNTERS}
        if pks:
            for key, n in count_people(pks).items():
                partial[key] += n
            state.snapshot_cursor, state.snapshot_partial = pks[-1], partial
            state.save()
            return False
        DailyRegistration.objects.update_or_create(day=day, defaults={"taken_at": now, **partial})
        state.snapshot_seconds = (now - state.snapshot_started_at).total_seconds()
        state.snapshot_started_at, state.snapshot_cursor, state.snapshot_partial = None, 0, {}
        state.save()
        return True


def take_snapshot(day: date, *, step: int = 5000) -> DailyRegistration:
    """Count everyone for ``day`` now, starting over whatever the worker was doing."""
    RollupState.objects.get_or_create(pk=1)
    RollupState.objects.filter(pk=1).update(
        snapshot_day=day,
        snapshot_started_at=clock.now(),
        snapshot_cursor=0,
        snapshot_partial={},
    )
    while not take_snapshot_step(day, step=step):
        pass
    return DailyRegistration.objects.get(day=day)
