from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "opensspr.audit"
    label = "audit"
    verbose_name = _("Audit")

    def ready(self) -> None:
        """Audit events are sealed into the chain beside deliveries (worker or inline), then
        forwarded to syslog when that is configured: sealing first, so they go out at once."""
        # Registers the system checks; Django's idiom, once the app registry is ready.
        from opensspr.audit import checks  # noqa: F401, PLC0415 (side effect at ready())
        from opensspr.audit.chain import seal_pending  # noqa: PLC0415 (app registry)
        from opensspr.audit.forwarding import forward_due  # noqa: PLC0415 (app registry)
        from opensspr.channels import register_due_work  # noqa: PLC0415 (app registry)

        register_due_work(seal_pending)
        register_due_work(forward_due)
