from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "opensspr.demo"
    label = "demo"
    verbose_name = "Demo organisation"
