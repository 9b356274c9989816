"""Puts the reports into the console (found by the admin's autodiscovery, like model admins)."""

from django.utils.translation import gettext_lazy as _

from opensspr.console.site import ConsolePage, console_site
from opensspr.reports.views import registration_report

console_site.register_page(
    ConsolePage(
        section_label="reports",
        section=_("Reports"),
        title=_("Registration report"),
        route="reports/registrations/",
        name="reports_registrations",
        view=registration_report,
        permission="accounts.view_user",
    )
)
