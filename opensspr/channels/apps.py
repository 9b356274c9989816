from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from opensspr.core.serving import worker_started


class ChannelsConfig(AppConfig):
    name = "opensspr.channels"
    label = "channels"
    verbose_name = _("Delivery channels")

    def ready(self) -> None:
        # Registers the system checks; Django's idiom, once the app registry is ready.
        from opensspr.channels import checks  # noqa: F401, PLC0415 (side effect at ready())
        from opensspr.channels.worker import start_background_worker  # noqa: PLC0415 (app registry)

        def start_inline_delivery(*, delivery_mode: str, **_: object) -> None:
            """In inline delivery mode each app process also retries, expires and erases."""
            if delivery_mode == "inline":
                start_background_worker()

        worker_started.connect(start_inline_delivery, weak=False, dispatch_uid="inline-delivery")
