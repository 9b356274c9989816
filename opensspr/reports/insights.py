"""The usage and registration figures, read from the pre-aggregated daily rows.

Every figure here sums ``DailyUsage``, ``DailyDuration`` or ``DailyRegistration``
rows over a period of whole days (``reports.rollup``): a few hundred rows at
most, whatever the size of the audit log. The one live read is
``count_blocked_now``, an index range over the last day's block events.
docs/operators/reports.md says what each figure means.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from opensspr.audit.activities import Activity, Category, activities_in, label_for
from opensspr.audit.models import AuditEvent
from opensspr.core import clock
from opensspr.reports.models import DailyDuration, DailyRegistration, DailyUsage, ReportSettings

RESETS = (Activity.RESET_COMPLETED,)
UNLOCKS = (Activity.UNLOCK_COMPLETED,)
CHANGES = (Activity.PASSWORD_CHANGED, Activity.PASSWORD_CHANGED_FORCED)

METHOD_LABELS: dict[str, Promise] = {
    "email": _("Email"),
    "mobile_sms": _("Text to mobile"),
    "mobile_voice": _("Call to mobile"),
    "office_voice": _("Call to office phone"),
    "app_code": _("App code"),
    "app_notification": _("App notification"),
    "security_questions": _("Security questions"),
}

KIND_LABELS: dict[str, Promise] = {
    "reset": _("Password reset"),
    "unlock": _("Account unlock"),
    "change": _("Password change"),
}
_FAILURES_OF = {
    "reset": activities_in(Category.RESET),
    "unlock": activities_in(Category.UNLOCK),
    "change": activities_in(Category.CHANGE),
}


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # included

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def each_day(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(self.days)]

    def before(self) -> "Period":
        """The period of the same length just before this one."""
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1))


def period_ending(last: date, days: int) -> Period:
    return Period(last - timedelta(days=days - 1), last)


def method_label(key: str) -> str:
    """ "email+mobile_sms" in words; a flow with no recorded gate shows as such."""
    if not key:
        return str(_("(no method recorded)"))
    return " + ".join(str(METHOD_LABELS.get(part, part)) for part in key.split("+"))


def _in(period: Period) -> Q:
    return Q(day__gte=period.first, day__lte=period.last)


def _total(period: Period, activities: tuple[str, ...], outcome: str = "success") -> int:
    rows = DailyUsage.objects.filter(_in(period), activity__in=activities, outcome=outcome)
    return rows.aggregate(n=Sum("count"))["n"] or 0


@dataclass(frozen=True)
class DayUsage:
    day: date
    resets: int
    unlocks: int
    changes: int
    failures: int
    blocked: int  # distinct people blocked that day


def list_daily_usage(period: Period) -> list[DayUsage]:
    """One entry per day of ``period``, days without events included (zeros)."""
    per_day: dict[date, dict[str, int]] = {d: {} for d in period.each_day()}
    failures = [a for kind in _FAILURES_OF.values() for a in kind]
    rows = (
        DailyUsage.objects.filter(_in(period))
        .filter(
            Q(activity__in=(*RESETS, *UNLOCKS, *CHANGES), outcome="success")
            | Q(activity__in=failures, outcome="failure")
        )
        .values("day", "activity", "outcome")
        .annotate(n=Sum("count"), people=Sum("people"))
        .order_by()
    )
    for row in rows:
        slot = per_day[row["day"]]
        if row["outcome"] == "failure":
            slot["failures"] = slot.get("failures", 0) + row["n"]
            if row["activity"] == Activity.RESET_BLOCKED:
                slot["blocked"] = slot.get("blocked", 0) + row["people"]
            continue
        name = "resets" if row["activity"] in RESETS else "unlocks"
        name = "changes" if row["activity"] in CHANGES else name
        slot[name] = slot.get(name, 0) + row["n"]
    names = ("resets", "unlocks", "changes", "failures", "blocked")
    return [DayUsage(day, *(slot.get(n, 0) for n in names)) for day, slot in per_day.items()]


@dataclass(frozen=True)
class MethodUsage:
    method: str
    label: str
    resets: int
    unlocks: int

    @property
    def total(self) -> int:
        return self.resets + self.unlocks


def list_method_usage(period: Period) -> list[MethodUsage]:
    """Finished resets and unlocks by the methods their flow passed, most used first."""
    rows = (
        DailyUsage.objects.filter(_in(period), activity__in=(*RESETS, *UNLOCKS), outcome="success")
        .values("method", "activity")
        .annotate(n=Sum("count"))
        .order_by()
    )
    by_method: dict[str, dict[str, int]] = {}
    for row in rows:
        by_method.setdefault(row["method"], {})[row["activity"]] = row["n"]
    found = [
        MethodUsage(
            m,
            method_label(m),
            c.get(Activity.RESET_COMPLETED, 0),
            c.get(Activity.UNLOCK_COMPLETED, 0),
        )
        for m, c in by_method.items()
    ]
    return sorted(found, key=lambda u: (-u.total, u.method))


@dataclass(frozen=True)
class FailureCount:
    kind: str
    kind_label: str
    activity: str
    activity_label: str
    reason: str
    count: int


def list_failures(period: Period) -> list[FailureCount]:
    """Failed steps of resets, unlocks and changes by activity and reason, most first."""
    found: list[FailureCount] = []
    for kind, activities in _FAILURES_OF.items():
        rows = (
            DailyUsage.objects.filter(_in(period), activity__in=activities, outcome="failure")
            .values("activity", "reason")
            .annotate(n=Sum("count"))
            .order_by()
        )
        found += [
            FailureCount(
                kind,
                str(KIND_LABELS[kind]),
                r["activity"],
                label_for(r["activity"]),
                r["reason"],
                r["n"],
            )
            for r in rows
        ]
    return sorted(found, key=lambda f: (-f.count, f.kind, f.activity, f.reason))


def median_seconds(period: Period, activity: str = Activity.RESET_COMPLETED) -> int | None:
    """The median time from start to finish, in whole seconds; None without a finished flow."""
    rows = list(
        DailyDuration.objects.filter(_in(period), activity=activity)
        .values("seconds")
        .annotate(n=Sum("count"))
        .order_by("seconds")
        .values_list("seconds", "n")
    )
    total = sum(n for _s, n in rows)
    if not total:
        return None
    seen, low, high = 0, (total - 1) // 2, total // 2  # the middle one, or the middle two
    picked: list[int] = []
    for seconds, n in rows:
        for index in (low, high):
            if seen <= index < seen + n:
                picked.append(seconds)
        seen += n
    return round(sum(picked) / len(picked))


def get_report_settings() -> ReportSettings:
    return ReportSettings.objects.filter(pk=1).first() or ReportSettings(pk=1)


@dataclass(frozen=True)
class UsageSummary:
    period: Period
    started: int  # reset flows begun (resets and unlocks both start as one)
    resets: int
    unlocks: int
    changes: int
    failures: int
    blocked: int  # blocks (a person blocked on two days counts twice)
    median_seconds: int | None
    cost_per_ticket: Decimal
    currency: str

    @property
    def median_minutes(self) -> int:
        return (self.median_seconds or 0) // 60

    @property
    def median_rest_seconds(self) -> int:
        return (self.median_seconds or 0) % 60

    @property
    def calls_avoided(self) -> int:
        """Each reset or unlock done alone is a password call the helpdesk didn't take."""
        return self.resets + self.unlocks

    @property
    def saved(self) -> Decimal:
        return self.cost_per_ticket * self.calls_avoided

    @property
    def finished_share(self) -> int | None:
        """Finished flows as a percentage of flows started; None when none started."""
        if not self.started:
            return None
        return min(100, round(100 * (self.resets + self.unlocks) / self.started))


def get_usage_summary(period: Period) -> UsageSummary:
    settings = get_report_settings()
    failures = tuple(a for kind in _FAILURES_OF.values() for a in kind)
    blocked = DailyUsage.objects.filter(
        _in(period), activity=Activity.RESET_BLOCKED, outcome="failure"
    ).aggregate(n=Sum("people"))["n"]
    return UsageSummary(
        period=period,
        started=_total(period, (Activity.RESET_STARTED,)),
        resets=_total(period, RESETS),
        unlocks=_total(period, UNLOCKS),
        changes=_total(period, CHANGES),
        failures=_total(period, failures, "failure"),
        blocked=blocked or 0,
        median_seconds=median_seconds(period),
        cost_per_ticket=settings.cost_per_ticket,
        currency=settings.currency,
    )


def count_blocked_now() -> int:
    """People blocked from self-service reset in the last 24 hours (a block lasts a day)."""
    since = clock.now() - timedelta(hours=24)
    events = AuditEvent.objects.filter(activity=Activity.RESET_BLOCKED, occurred_at__gte=since)
    return events.exclude(target=None).values("target").distinct().count()


def list_registration_trend(period: Period) -> list[DailyRegistration]:
    return list(DailyRegistration.objects.filter(_in(period)).order_by("day"))


def get_latest_registration() -> DailyRegistration | None:
    return DailyRegistration.objects.order_by("-day").first()
