from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistrationConfig(AppConfig):
    name = "opensspr.registration"
    label = "registration"
    verbose_name = _("Security info registration")

    def ready(self) -> None:
        # The campaign reads models, which can't be imported while the registry loads.
        from opensspr.channels import register_due_work  # noqa: PLC0415 (app registry)
        from opensspr.registration.campaign import remind_step  # noqa: PLC0415 (app registry)

        register_due_work(remind_step)
