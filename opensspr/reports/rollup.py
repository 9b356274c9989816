"""Fold the audit log into the daily usage rows (``DailyUsage``, ``DailyDuration``).

Each run re-computes *today*, and *yesterday* too on the first run of a day and
at least hourly, from the audit events of those days and replaces their rows: a
run is idempotent, and an event written late or a flow that finished after
midnight is counted on a later run. Older days are
left as they are, so pruning the audit log (its retention) never erases the
figures already rolled up.

The worker runs it beside deliveries at most every ``USAGE_EVERY``
(``run_due_rollup``), together with a chunk of the daily registration snapshot
(``reports.snapshot``); ``opensspr reports rollup`` runs it at once. Concurrent
workers take turns on the ``RollupState`` row lock.

Time to finish a reset: from the flow's ``reset.started`` event to its
``reset.completed`` (or ``unlock.completed``) event, matched by correlation id.
The methods of a finished flow are those of its ``reset.gate_passed`` events.
"""

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.db.models.fields.json import KT

from opensspr.audit.activities import Activity, Category, activities_in
from opensspr.audit.models import AuditEvent
from opensspr.core import clock
from opensspr.reports.models import DailyDuration, DailyUsage, RollupState
from opensspr.reports.snapshot import run_status_turn

logger = logging.getLogger("opensspr.reports.rollup")

#: How often the worker re-computes today; yesterday too at most every ``BOTH_DAYS_EVERY``
#: and on the first run of a new day (a day's run costs about 0.5 s at 5,000,000 events).
USAGE_EVERY = timedelta(minutes=1)
BOTH_DAYS_EVERY = timedelta(hours=1)

#: Finished flows: their method is the combination of gates passed, and their duration counts.
FINISHED = (Activity.RESET_COMPLETED, Activity.UNLOCK_COMPLETED)

#: The activities the usage figures read; others (sign-in, delivery) are left out of the rollup.
_USAGE_CATEGORIES = (Category.RESET, Category.UNLOCK, Category.CHANGE, Category.REGISTRATION)
USAGE_ACTIVITIES: tuple[str, ...] = (
    *(str(a) for category in _USAGE_CATEGORIES for a in activities_in(category)),
    str(Activity.PASSWORD_RESET_BY_ADMIN),
    str(Activity.RESET_BLOCK_LIFTED),
)

_METHOD_ORDER = (
    "email",
    "mobile_sms",
    "mobile_voice",
    "office_voice",
    "app_code",
    "app_notification",
    "security_questions",
)
_CHUNK = 2000
_METHOD_MAX = DailyUsage._meta.get_field("method").max_length or 128


def report_zone() -> ZoneInfo:
    """Days begin at midnight in the deployment's time zone."""
    return ZoneInfo(settings.TIME_ZONE)


def today() -> date:
    return clock.now().astimezone(report_zone()).date()


def day_window(day: date) -> tuple[datetime, datetime]:
    """From this midnight to the next (23 or 25 hours on a daylight-saving day)."""
    zone = report_zone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


def method_key(methods: Iterable[str]) -> str:
    """The methods a flow passed, once each, in a fixed order: "email+mobile_sms"."""
    known = set(methods)
    order = [m for m in _METHOD_ORDER if m in known]
    return "+".join(order + sorted(known - set(order)))


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _flow_facts(correlation_ids: Sequence[str]) -> tuple[dict[str, datetime], dict[str, set[str]]]:
    """When each flow started and which methods it passed, read by correlation id."""
    started: dict[str, datetime] = {}
    methods: dict[str, set[str]] = {}
    for chunk in _chunks(correlation_ids):
        rows = AuditEvent.objects.filter(
            correlation_id__in=chunk,
            activity__in=(Activity.RESET_STARTED, Activity.RESET_GATE_PASSED),
        ).values_list("correlation_id", "activity", "occurred_at", KT("details__method"))
        for cid, activity, at, method in rows:
            if activity == Activity.RESET_STARTED:
                if cid not in started or at < started[cid]:
                    started[cid] = at
            elif method:
                methods.setdefault(cid, set()).add(method)
    return started, methods


def _finished_rows(
    day: date, events: Sequence[tuple[str, str, datetime, int | None]]
) -> tuple[list[DailyUsage], list[DailyDuration]]:
    """Usage rows per method combination, and the duration histogram, of finished flows."""
    started, methods = _flow_facts(sorted({cid for _a, cid, _at, _t in events if cid}))
    counts: Counter[tuple[str, str]] = Counter()
    people: dict[tuple[str, str], set[int]] = {}
    seconds: Counter[tuple[str, int]] = Counter()
    for activity, cid, at, target in events:
        key = (activity, method_key(methods.get(cid, ()))[:_METHOD_MAX])
        counts[key] += 1
        if target is not None:
            people.setdefault(key, set()).add(target)
        if cid in started and at >= started[cid]:
            seconds[(activity, int((at - started[cid]).total_seconds()))] += 1
    usage = [
        DailyUsage(
            day=day,
            activity=activity,
            outcome="success",
            method=method,
            count=n,
            people=len(people.get((activity, method), ())),
        )
        for (activity, method), n in counts.items()
    ]
    durations = [
        DailyDuration(day=day, activity=activity, seconds=s, count=n)
        for (activity, s), n in seconds.items()
    ]
    return usage, durations


def compute_day(day: date) -> tuple[list[DailyUsage], list[DailyDuration]]:
    """The rows of ``day`` as the audit log has it now (nothing written)."""
    start, end = day_window(day)
    events = AuditEvent.objects.filter(
        occurred_at__gte=start, occurred_at__lt=end, activity__in=USAGE_ACTIVITIES
    )
    others = (
        events.exclude(activity__in=FINISHED, outcome="success")
        .annotate(method=KT("details__method"))
        .values("activity", "outcome", "reason", "method")
        .annotate(n=Count("id"), people=Count("target", distinct=True))
        .order_by()
    )
    usage = [
        DailyUsage(
            day=day,
            activity=row["activity"],
            outcome=row["outcome"],
            reason=row["reason"],
            method=(row["method"] or "")[:_METHOD_MAX],
            count=row["n"],
            people=row["people"],
        )
        for row in others
    ]
    finished = list(
        events.filter(activity__in=FINISHED, outcome="success").values_list(
            "activity", "correlation_id", "occurred_at", "target_id"
        )
    )
    more, durations = _finished_rows(day, finished)
    return usage + more, durations


def rollup_day(day: date) -> int:
    """Replace ``day``'s rows with what the audit log says now; returns the usage rows."""
    usage, durations = compute_day(day)
    with transaction.atomic():
        DailyUsage.objects.filter(day=day).delete()
        DailyDuration.objects.filter(day=day).delete()
        DailyUsage.objects.bulk_create(usage, batch_size=1000)
        DailyDuration.objects.bulk_create(durations, batch_size=1000)
    return len(usage)


def rollup_recent(*, days: int = 2) -> list[date]:
    """Re-compute the last ``days`` days (today included) under the rollup lock."""
    with transaction.atomic():
        RollupState.objects.get_or_create(pk=1)
        state = RollupState.objects.select_for_update().get(pk=1)
        last = today()
        done = [last - timedelta(days=n) for n in range(days - 1, -1, -1)]
        for day in done:
            rollup_day(day)
        state.usage_at = clock.now()
        if days > 1:
            state.both_days_at = state.usage_at
        state.save(update_fields=["usage_at", "both_days_at"])
    return done


def run_due_rollup() -> None:
    """The worker's periodic call: usage when it is due, then the registration decisions."""
    state = RollupState.objects.filter(pk=1).first()
    now = clock.now()
    if state is None or state.usage_at is None or now - state.usage_at >= USAGE_EVERY:
        both = (
            state is None
            or state.both_days_at is None
            or now - state.both_days_at >= BOTH_DAYS_EVERY
            or state.both_days_at.astimezone(report_zone()).date() != today()
        )
        rollup_recent(days=2 if both else 1)
    run_status_turn(today())
