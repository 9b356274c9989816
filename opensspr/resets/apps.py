from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResetsConfig(AppConfig):
    name = "opensspr.resets"
    label = "resets"
    verbose_name = _("Password reset, unlock and change")

    def ready(self) -> None:
        # The helpdesk reads models, which can't be imported while the registry loads.
        from opensspr.channels import register_due_work  # noqa: PLC0415 (app registry)
        from opensspr.resets.helpdesk import process_help_requests  # noqa: PLC0415 (app registry)

        register_due_work(process_help_requests)
