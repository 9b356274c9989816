"""Start-up checks for delivery set-ups that parse but cannot work or would leak codes."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from opensspr.channels import conf

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@register()
def check_delivery(app_configs: object = None, **kwargs: object) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    if conf.delivery_mode() not in {conf.INLINE, conf.WORKER}:
        problems.append(
            Error(
                f"OPENSSPR_DELIVERY_MODE must be inline or worker, not {conf.delivery_mode()!r}.",
                id="opensspr.channels.E001",
            )
        )
    host = urlsplit(settings.OPENSSPR_BASE_URL).hostname
    if conf.outbox_page_enabled() and host not in _LOOPBACK:
        problems.append(
            Warning(
                "OPENSSPR_OUTBOX_PAGE is on and the site is not on loopback: anyone who can "
                "reach /outbox/ reads the codes the outbox channel holds.",
                hint="Use it for demos only; choose real channels in the console and turn "
                "OPENSSPR_OUTBOX_PAGE off.",
                id="opensspr.channels.W001",
            )
        )
    return problems
