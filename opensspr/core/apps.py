from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "opensspr.core"
    label = "core"
    verbose_name = _("OpenSSPR core")

    def ready(self) -> None:
        # Registers the system checks; Django's idiom, once the app registry is ready.
        from opensspr.core import checks  # noqa: F401, PLC0415 (side effect at ready())
