from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _

from opensspr.core.memo import forget


class AccountsConfig(AppConfig):
    name = "opensspr.accounts"
    label = "accounts"
    verbose_name = _("Directory")

    def ready(self) -> None:
        """A saved or deleted organisation row is forgotten by the request's memo."""
        from opensspr.accounts.models import (  # noqa: PLC0415 (models load after the app registry)
            ORGANISATION_KEY,
            Organisation,
        )

        def forget_it(**_kwargs: object) -> None:
            forget(ORGANISATION_KEY)

        post_save.connect(forget_it, sender=Organisation, weak=False, dispatch_uid="memo-org")
        post_delete.connect(forget_it, sender=Organisation, weak=False, dispatch_uid="memo-org")
