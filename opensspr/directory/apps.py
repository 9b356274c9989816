from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DirectoryAppConfig(AppConfig):
    """The on-premises directory's settings and sync state (``models``), and ``opensspr sync``.

    The connectors in ``directory.ldap`` stay free of Django; this app config
    only makes the models and the management command known.
    """

    name = "opensspr.directory"
    label = "directory"
    verbose_name = _("On-premises directory")

    def ready(self) -> None:
        """Pending writebacks are reconciled beside deliveries; a settings save is seen at once."""
        from django.db.models.signals import post_delete, post_save  # noqa: PLC0415 (app registry)

        from opensspr.channels import register_due_work  # noqa: PLC0415 (app registry)
        from opensspr.core.memo import forget  # noqa: PLC0415 (app registry)
        from opensspr.directory.models import DirectorySettings  # noqa: PLC0415 (app registry)
        from opensspr.directory.writeback import run_due_reconciliation  # noqa: PLC0415 (as above)

        def forget_it(**_kwargs: object) -> None:
            forget("directory_settings")

        post_save.connect(forget_it, sender=DirectorySettings, weak=False, dispatch_uid="memo-dir")
        post_delete.connect(
            forget_it, sender=DirectorySettings, weak=False, dispatch_uid="memo-dir"
        )
        register_due_work(run_due_reconciliation)
