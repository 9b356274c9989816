"""The daily registration snapshot: how many people could reset, and with what, on a day.

Counting who is *capable* means an eligibility decision per person, the same
one the registration report and the reset portal use (``reports.capability``):
time linear in the directory. So the snapshot is taken once a day, a chunk of
``STEP`` people per worker turn, with its cursor and partial counts kept in
``RollupState``; ``take_snapshot`` (the command) does every chunk at once. The
pages then read one ``DailyRegistration`` row per day.
"""

from datetime import date

from django.db import transaction

from opensspr.accounts.models import User
from opensspr.core import clock
from opensspr.policy.reset_selectors import get_sspr_policy
from opensspr.reports.capability import iter_capabilities
from opensspr.reports.models import SNAPSHOT_COUNTERS, DailyRegistration, RollupState
from opensspr.reports.registered import summary_of_annotated, users_with_registration_counts

#: People evaluated per worker turn (a few tenths of a second).
STEP = 1000


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


def take_snapshot_step(day: date, *, step: int = STEP) -> bool:
    """Count the next ``step`` people for ``day``'s snapshot; True once the day's row exists."""
    if DailyRegistration.objects.filter(day=day).exists():
        return True
    with transaction.atomic():
        RollupState.objects.get_or_create(pk=1)
        state = RollupState.objects.select_for_update().get(pk=1)
        if state.snapshot_day != day:  # a new day: start over
            state.snapshot_day, state.snapshot_cursor, state.snapshot_partial = day, 0, {}
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
        DailyRegistration.objects.update_or_create(
            day=day, defaults={"taken_at": clock.now(), **partial}
        )
        state.snapshot_cursor, state.snapshot_partial = 0, {}
        state.save()
        return True


def take_snapshot(day: date, *, step: int = 5000) -> DailyRegistration:
    """Take (or take again) ``day``'s whole snapshot now."""
    DailyRegistration.objects.filter(day=day).delete()
    RollupState.objects.filter(pk=1).update(snapshot_day=None)
    while not take_snapshot_step(day, step=step):
        pass
    return DailyRegistration.objects.get(day=day)
