"""The usage and insights page, and the setting it values self-service with.

Reads only the pre-aggregated daily rows (``reports.insights``); charts are SVG
drawn here on the server (``reports.charts``) with a table of the same figures
beside each, and every table downloads as CSV (``?export=daily`` and so on),
streamed. Aggregates only: no person is named, so a download isn't audited.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from opensspr.console.admin_base import SingletonAdmin
from opensspr.console.site import ConsolePage, console_site
from opensspr.reports import charts
from opensspr.reports.insights import (
    DayUsage,
    Period,
    get_latest_registration,
    get_usage_summary,
    list_daily_usage,
    list_failures,
    list_method_usage,
    list_registration_trend,
    period_ending,
)
from opensspr.reports.models import DailyRegistration, ReportSettings
from opensspr.reports.registered import DATA_LABELS, DataKind
from opensspr.reports.rollup import today
from opensspr.reports.usage_exports import TABLES, stream_csv

#: The width phones get their charts drawn at (the wide drawing is ``charts.WIDTH``).
NARROW = 400

#: The periods offered, in days; the reports keep 30 by default (reference §10.1).
PERIODS = (7, 30, 90)


def _period(request: HttpRequest) -> Period:
    try:
        days = int(request.GET.get("days", "30"))
    except ValueError:
        days = 30
    return period_ending(today(), days if days in PERIODS else 30)


def _both(draw: Callable[..., SafeString], *args: Any, **kwargs: Any) -> dict[str, SafeString]:
    """The chart drawn for wide screens and again for phones, where its text would be tiny;
    CSS shows one of the two."""
    return {"wide": draw(*args, **kwargs), "narrow": draw(*args, width=NARROW, **kwargs)}


def _usage_chart(days: list[DayUsage]) -> Any:
    labels = [date_format(d.day, "j M") for d in days]
    series = [
        charts.Series(_("Resets"), "series-1", [d.resets for d in days]),
        charts.Series(_("Unlocks"), "series-2", [d.unlocks for d in days]),
        charts.Series(_("Changes"), "series-3", [d.changes for d in days]),
    ]
    desc = _("%(resets)s resets, %(unlocks)s unlocks and %(changes)s changes in %(days)s days.") % {
        "resets": sum(d.resets for d in days),
        "unlocks": sum(d.unlocks for d in days),
        "changes": sum(d.changes for d in days),
        "days": len(days),
    }
    return _both(charts.stacked_bars, _("Self-service per day"), desc, labels, series)


def _registration_chart(trend: list[DailyRegistration]) -> Any:
    def share(n: int, row: DailyRegistration) -> float:
        return round(100 * n / row.users, 1) if row.users else 0

    labels = [date_format(r.day, "j M") for r in trend]
    series = [
        charts.Series(_("Capable"), "series-1", [share(r.capable, r) for r in trend]),
        charts.Series(_("Registered"), "series-2", [share(r.registered, r) for r in trend]),
    ]
    last = trend[-1] if trend else None
    desc = (
        _("Share of people capable of self-service reset: %(share)s%% on the last day.")
        % {"share": share(last.capable, last)}
        if last
        else _("No registration snapshot yet.")
    )
    return _both(charts.lines, _("Registration over time (%)"), desc, labels, series, top=100)


def _registered_per_method(latest: DailyRegistration | None) -> list[tuple[str, int]]:
    if latest is None:
        return []
    return [(str(DATA_LABELS[kind]), getattr(latest, kind.value)) for kind in DataKind]


def insights(request: HttpRequest) -> HttpResponseBase:
    """Usage and registration over the chosen period; ``?export=<table>`` downloads CSV."""
    period = _period(request)
    table = request.GET.get("export", "")
    if table in TABLES:
        response = StreamingHttpResponse(
            stream_csv(table, period), content_type="text/csv; charset=utf-8"
        )
        name = f"insights-{table}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        return response
    days = list_daily_usage(period)
    methods = list_method_usage(period)
    failures = list_failures(period)
    trend = list_registration_trend(period)
    latest = get_latest_registration()
    per_method = _registered_per_method(latest)
    request.current_app = console_site.name
    context = {
        **console_site.each_context(request),
        "title": _("Usage and insights"),
        "period": period,
        "periods": PERIODS,
        "summary": get_usage_summary(period),
        "days": days,
        "usage_chart": _usage_chart(days),
        "methods": methods,
        "methods_chart": _both(
            charts.hbars,
            _("Resets and unlocks by method"),
            _("Finished resets and unlocks by the methods the person verified with."),
            [(m.label, m.total) for m in methods],
        )
        if methods
        else None,
        "failures": failures,
        "trend": trend,
        "trend_chart": _registration_chart(trend) if trend else None,
        "latest": latest,
        "per_method": per_method,
        "per_method_chart": _both(
            charts.hbars,
            _("Registered per method"),
            _("How many people registered each kind of authentication data."),
            per_method,
        )
        if latest
        else None,
        "settings_url": _settings_url(request),
    }
    return TemplateResponse(request, "reports/insights.html", context)


def _settings_url(request: HttpRequest) -> str | None:
    if not request.user.has_perm("reports.change_reportsettings"):
        return None
    return reverse("console:reports_reportsettings_changelist", current_app=console_site.name)


@admin.register(ReportSettings, site=console_site)
class ReportSettingsAdmin(SingletonAdmin):
    """One row: the changelist opens it, there is nothing to add or delete."""

    audit_values = True
    fields = ("cost_per_ticket", "currency")


console_site.register_page(
    ConsolePage(
        section_label="reports",
        section=gettext_lazy("Reports"),
        title=gettext_lazy("Usage and insights"),
        route="reports/insights/",
        name="reports_insights",
        view=insights,
        permission="accounts.view_user",
    )
)
