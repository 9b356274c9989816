from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResetsConfig(AppConfig):
    name = "opensspr.resets"
    label = "resets"
    verbose_name = _("Password reset, unlock and change")

    def ready(self) -> None:
        from opensspr.channels import register_due_work
        from opensspr.resets.helpdesk import process_help_requests

        register_due_work(process_help_requests)
