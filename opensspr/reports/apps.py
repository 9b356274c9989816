from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "opensspr.reports"
    label = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        """The daily rows are rolled up beside deliveries (worker, or inline after work)."""
        from opensspr.channels import register_due_work  # noqa: PLC0415 (app registry)
        from opensspr.reports.receivers import connect  # noqa: PLC0415 (app registry)
        from opensspr.reports.rollup import run_due_rollup  # noqa: PLC0415 (app registry)

        register_due_work(run_due_rollup)
        connect()  # stored registration decisions follow the changes that decide them
