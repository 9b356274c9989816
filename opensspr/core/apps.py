from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "opensspr.core"
    label = "core"
    verbose_name = "OpenSSPR core"

    def ready(self) -> None:
        from opensspr.core import checks  # noqa: F401  (registers the system checks)
