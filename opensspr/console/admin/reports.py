"""Console pages for reports. Parse the request, read through selectors, render.

Registered as ``ConsolePage`` rows on the console site at the bottom: they get the
console's sign-in and a place in its side bar next to the model admins.
"""

from datetime import date
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from opensspr.accounts.models import User
from opensspr.console.site import ConsolePage, console_site
from opensspr.core import clock
from opensspr.core.request_meta import request_meta
from opensspr.reports.exports import registration_csv
from opensspr.reports.forms import ReportFilterForm
from opensspr.reports.insights import get_latest_registration
from opensspr.reports.models import DailyRegistration
from opensspr.reports.registered import DATA_LABELS, DataKind
from opensspr.reports.selectors import (
    ReportFilters,
    ReportTotals,
    count_report_totals,
    list_registration_rows,
    needs_decisions,
    rows_of_users,
    search_users,
    with_reset_blocks,
)
from opensspr.reports.services import record_registration_export

PAGE_SIZE = 100


def _page(
    request: HttpRequest, filters: ReportFilters
) -> tuple[Page[Any], ReportTotals | None, DailyRegistration | None]:
    """The page asked for, its totals, and the registration count they come from, if any.

    Filters on capability decide everyone (exact totals, time linear in the directory).
    Without them the users are paged in SQL and only the page's people are decided; the
    totals are then the day's registration count (``reports.snapshot``) when nothing is
    searched, shown with its time, and none for a search.
    """
    number = request.GET.get("page")
    if needs_decisions(filters):
        rows = list_registration_rows(filters, with_blocks=False)
        page = Paginator(rows, PAGE_SIZE).get_page(number)
        page.object_list = with_reset_blocks(page.object_list)  # the page's rows only
        return page, count_report_totals(rows), None
    people: Page[Any] = Paginator(search_users(filters), PAGE_SIZE).get_page(number)
    # The same page (number, paginator), holding the report's rows of its people.
    page = Page(rows_of_users(people.object_list), people.number, people.paginator)
    counted = None if filters.search.strip() else get_latest_registration()
    return page, None, counted


def registration_report(request: HttpRequest) -> HttpResponse:
    """The registration report; ``?export=csv`` downloads the same rows (filters kept)."""
    assert isinstance(request.user, User)  # the console admits only directory users
    form = ReportFilterForm(request.GET)
    if request.GET.get("export") == "csv":
        rows = list_registration_rows(form.filters())
        record_registration_export(
            actor=request.user, rows=len(rows), filters=form.active(), meta=request_meta(request)
        )
        response = HttpResponse(registration_csv(rows), content_type="text/csv; charset=utf-8")
        name = f"registrations-{date.isoformat(clock.now().date())}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        return response
    query = request.GET.copy()
    query.pop("page", None)
    export_query = query.copy()
    export_query["export"] = "csv"
    page, totals, counted = _page(request, form.filters())
    request.current_app = console_site.name
    context = {
        **console_site.each_context(request),
        "title": _("Registration report"),
        "form": form,
        "page": page,
        "totals": totals,
        "counted": counted,
        "kinds": [DATA_LABELS[kind] for kind in DataKind],
        "query": query.urlencode(),
        "export_query": export_query.urlencode(),
        "can_open_users": request.user.has_perm("accounts.view_user"),
    }
    return TemplateResponse(request, "reports/registration_report.html", context)


console_site.register_page(
    ConsolePage(
        section_label="reports",
        section=gettext_lazy("Reports"),
        title=gettext_lazy("Registration report"),
        route="reports/registrations/",
        name="reports_registrations",
        view=registration_report,
        permission="accounts.view_user",
    )
)
