from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CaptchaConfig(AppConfig):
    name = "opensspr.captcha"
    label = "captcha"
    verbose_name = _("Captcha")

    def ready(self) -> None:
        from opensspr.captcha.services import purge_expired  # noqa: PLC0415 (app registry)
        from opensspr.channels import register_due_work  # noqa: PLC0415 (app registry)

        register_due_work(purge_expired)
