from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "opensspr.core"
    label = "core"
    verbose_name = _("OpenSSPR core")

    def ready(self) -> None:
        from opensspr.core import checks  # noqa: F401  (registers the system checks)
