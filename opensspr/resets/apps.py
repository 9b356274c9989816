from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResetsConfig(AppConfig):
    name = "opensspr.resets"
    label = "resets"
    verbose_name = _("Password reset, unlock and change")

    def ready(self) -> None:
        # The helpdesk reads models, which can't be imported while the registry loads.
        from opensspr.channels import register_due_work  # noqa: PLC0415 (app registry)
        from opensspr.core.outages import register_outage_errors  # noqa: PLC0415 (app registry)
        from opensspr.directory import writeback  # noqa: PLC0415 (app registry)
        from opensspr.directory.errors import DirectoryUnavailableError  # noqa: PLC0415 (as above)
        from opensspr.resets import admin_reset  # noqa: PLC0415 (app registry)
        from opensspr.resets.flow import writeback as reset_writeback  # noqa: PLC0415 (as above)
        from opensspr.resets.helpdesk import process_help_requests  # noqa: PLC0415 (app registry)
        from opensspr.throttles.housekeeping import purge_idle_due  # noqa: PLC0415 (as above)

        register_due_work(process_help_requests)
        # Throttles sit below the apps and can't register their own periodic work: the
        # rows a reset's steps leave (contact checks, looked-at pauses) go from here.
        register_due_work(purge_idle_due)
        # An unreachable directory is an outage (503), wherever it surfaces uncaught. (The
        # directory app would be the natural home of this line.)
        register_outage_errors(DirectoryUnavailableError)
        # How a reset's directory write ends, whoever learns it (the request or the reconciler).
        writeback.register(reset_writeback.PURPOSE, reset_writeback.finish)
        writeback.register(admin_reset.PURPOSE, admin_reset.finish_admin_reset)
