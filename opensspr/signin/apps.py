from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SigninConfig(AppConfig):
    name = "opensspr.signin"
    label = "signin"
    verbose_name = _("Sign-in")

    def ready(self) -> None:
        # The sign-in service records last_login itself (with the audit row, on our
        # clock); Django's receiver would write it a second time, outside both.
        from django.contrib.auth.models import update_last_login  # noqa: PLC0415 (app registry)
        from django.contrib.auth.signals import user_logged_in  # noqa: PLC0415 (app registry)

        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")

        from opensspr.directory import writeback  # noqa: PLC0415 (app registry)
        from opensspr.signin import change  # noqa: PLC0415 (app registry)

        writeback.register(change.PURPOSE, change.finish_change)
