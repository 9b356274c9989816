from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "opensspr.console"
    label = "console"
    verbose_name = "Console"
