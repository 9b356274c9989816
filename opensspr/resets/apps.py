from django.apps import AppConfig


class ResetsConfig(AppConfig):
    name = "opensspr.resets"
    label = "resets"
    verbose_name = "Password reset, unlock and change"
