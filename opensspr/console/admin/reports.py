"""Console pages for reports. Parse the request, read through selectors, render.

Registered as ``ConsolePage`` rows on the console site at the bottom: they get the
console's sign-in and a place in its side bar next to the model admins.
"""

from datetime import date

from django.core.paginator import Paginator
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
from opensspr.reports.registered import DATA_LABELS, DataKind
from opensspr.reports.selectors import (
    count_report_totals,
    list_registration_rows,
    with_reset_blocks,
)
from opensspr.reports.services import record_registration_export

PAGE_SIZE = 100


def registration_report(request: HttpRequest) -> HttpResponse:
    """The registration report; ``?export=csv`` downloads the same rows (filters kept)."""
    assert isinstance(request.user, User)  # the console admits only directory users
    form = ReportFilterForm(request.GET)
    export = request.GET.get("export") == "csv"
    rows = list_registration_rows(form.filters(), with_blocks=export)
    if export:
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
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = with_reset_blocks(page.object_list)  # the page's rows only
    request.current_app = console_site.name
    context = {
        **console_site.each_context(request),
        "title": _("Registration report"),
        "form": form,
        "page": page,
        "totals": count_report_totals(rows),
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
