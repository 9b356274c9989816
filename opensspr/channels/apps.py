from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "opensspr.channels"
    label = "channels"
    verbose_name = _("Delivery channels")

    def ready(self) -> None:
        from opensspr.channels import checks  # noqa: F401 (registers the system checks)
