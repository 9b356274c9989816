from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ThrottlesConfig(AppConfig):
    name = "opensspr.throttles"
    label = "throttles"
    verbose_name = _("Throttles")
