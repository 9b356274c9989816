from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _

from opensspr.core.memo import forget


class PolicyConfig(AppConfig):
    name = "opensspr.policy"
    label = "policy"
    verbose_name = _("Policy")

    def ready(self) -> None:
        """A saved or deleted settings row is forgotten by the request's memo (core/memo.py)."""
        from opensspr.policy.models import (  # noqa: PLC0415 (models load after the app registry)
            PASSWORD_SETTINGS_KEY,
            SSPR_POLICY_KEY,
            PasswordSettings,
            SsprPolicy,
        )

        for model, key in (
            (SsprPolicy, SSPR_POLICY_KEY),
            (PasswordSettings, PASSWORD_SETTINGS_KEY),
        ):
            forget_it = _forgetter(key)
            post_save.connect(forget_it, sender=model, weak=False, dispatch_uid=f"memo-{key}")
            post_delete.connect(forget_it, sender=model, weak=False, dispatch_uid=f"memo-{key}")


def _forgetter(key: str) -> Any:
    def forget_it(**_kwargs: object) -> None:
        forget(key)

    return forget_it
