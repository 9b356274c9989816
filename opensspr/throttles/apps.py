from django.apps import AppConfig


class ThrottlesConfig(AppConfig):
    """No admin pages: blocks show and lift through the console's user pages."""

    name = "opensspr.throttles"
    label = "throttles"

    def ready(self) -> None:
        """An unreachable throttle store is an outage: 503, never a bug's 500."""
        from opensspr.core.outages import register_outage_errors  # noqa: PLC0415 (app registry)
        from opensspr.throttles.base import ThrottleUnavailableError  # noqa: PLC0415 (as above)

        register_outage_errors(ThrottleUnavailableError)
