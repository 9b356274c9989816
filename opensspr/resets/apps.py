from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResetsConfig(AppConfig):
    name = "opensspr.resets"
    label = "resets"
    verbose_name = _("Password reset, unlock and change")
