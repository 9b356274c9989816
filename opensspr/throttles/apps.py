from django.apps import AppConfig


class ThrottlesConfig(AppConfig):
    """No admin pages: blocks show and lift through the console's user pages."""

    name = "opensspr.throttles"
    label = "throttles"
