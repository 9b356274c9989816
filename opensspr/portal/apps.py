from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "opensspr.portal"
    label = "portal"
    verbose_name = "Portal"
