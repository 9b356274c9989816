"""Console pages for reports. Parse the request, read through selectors, render.

Registered as ``ConsolePage`` rows on the console site at the bottom: they get the
console's sign-in and a place in its side bar next to the model admins.
"""

from collections.abc import Iterator
from datetime import date
from itertools import batched
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from opensspr.accounts.models import User
from opensspr.console.site import ConsolePage, console_site
from opensspr.core import clock
from opensspr.core.request_meta import request_meta
from opensspr.reports.exports import csv_header, csv_lines
from opensspr.reports.forms import ReportFilterForm
from opensspr.reports.registered import DATA_LABELS, DataKind
from opensspr.reports.selectors import (
    RegistrationRow,
    ReportFilters,
    ReportTotals,
    count_report,
    filter_users,
    iter_stored_rows,
    rows_of_users,
    search_once,
    users_in_order,
    with_reset_blocks,
)
from opensspr.reports.services import record_registration_export
from opensspr.reports.status import bring_up_to_date

PAGE_SIZE = 100


class _CountedPaginator(Paginator):
    """A paginator told its count: the totals query has just counted the same rows."""

    def __init__(self, object_list: Any, per_page: int, count: int) -> None:
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count  # Paginator.count is a cached property


def _page(request: HttpRequest, filters: ReportFilters) -> tuple[Page[Any], ReportTotals, int]:
    """The page asked for, the exact totals of the filtered rows, and how many are out of date.

    Everything runs in SQL over the stored decisions (``reports.status``): a
    page and its totals take the same time at a million people as at ten. A
    few out-of-date decisions are made again first; many (a policy change at a
    large organisation) are left to the worker, and the page says how many.
    """
    stale = bring_up_to_date()
    users = filter_users(filters)
    found = search_once(filters)
    totals = (found and found.totals) or count_report(filters)
    people: Any = users.select_related("registration_status")
    if found is not None:
        people = _FoundFirst(found.pks, people)
    paginator = _CountedPaginator(people, PAGE_SIZE, totals.users)
    page = paginator.get_page(request.GET.get("page"))
    # The same page (number, paginator), holding the report's rows of its people.
    return Page(rows_of_users(page.object_list), page.number, paginator), totals, stale


class _FoundFirst:
    """A search's people for the paginator: the pages it found by key, later ones by SQL."""

    def __init__(self, pks: list[int], users: QuerySet[User]) -> None:
        self.pks, self.users = pks, users

    def __getitem__(self, part: slice) -> list[User]:
        if part.stop is not None and part.stop <= len(self.pks):
            return users_in_order(self.pks[part])
        return list(self.users[part])


def _csv_lines(rows: Iterator[RegistrationRow], chunk: int = 2000) -> Iterator[str]:
    yield csv_header()
    for part in batched(rows, chunk):
        yield "".join(csv_lines(with_reset_blocks(part)))


def registration_report(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The registration report; ``?export=csv`` downloads the same rows (filters kept).

    The CSV streams: its first line leaves at once and each chunk of people is
    read, decided if out of date, and written in turn, in constant memory.
    """
    assert isinstance(request.user, User)  # the console admits only directory users
    form = ReportFilterForm(request.GET)
    if request.GET.get("export") == "csv":
        filters = form.filters()
        bring_up_to_date()
        record_registration_export(
            actor=request.user,
            rows=filter_users(filters).count(),
            filters=form.active(),
            meta=request_meta(request),
        )
        response = StreamingHttpResponse(
            _csv_lines(iter_stored_rows(filters)), content_type="text/csv; charset=utf-8"
        )
        name = f"registrations-{date.isoformat(clock.now().date())}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        return response
    query = request.GET.copy()
    query.pop("page", None)
    export_query = query.copy()
    export_query["export"] = "csv"
    page, totals, stale = _page(request, form.filters())
    request.current_app = console_site.name
    context = {
        **console_site.each_context(request),
        "title": _("Registration report"),
        "form": form,
        "page": page,
        "totals": totals,
        "stale": stale,
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
