"""Start-up checks for set-ups that parse but cannot work.

Settings that fail to parse already stop the import of settings.py with a clear
``ImproperlyConfigured``; these checks catch combinations (allauth's checks.py
is the model).
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register


@register()
def check_deployment(app_configs: object = None, **kwargs: object) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    base = urlsplit(settings.OPENSSPR_BASE_URL)
    if base.hostname not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        problems.append(
            Error(
                f"The host of OPENSSPR_BASE_URL ({base.hostname}) is not in "
                "OPENSSPR_ALLOWED_HOSTS.",
                hint="Add it, or leave OPENSSPR_ALLOWED_HOSTS unset to derive it from the "
                "base URL.",
                id="opensspr.E001",
            )
        )
    if "*" in settings.ALLOWED_HOSTS:
        problems.append(
            Error(
                "OPENSSPR_ALLOWED_HOSTS must not contain '*': it lets forged Host headers through.",
                id="opensspr.E002",
            )
        )
    if (
        not settings.DEBUG
        and base.scheme != "https"
        and base.hostname not in {"127.0.0.1", "localhost", "::1"}
    ):
        problems.append(
            Warning(
                "OPENSSPR_BASE_URL is plain http on a non-loopback host: passwords would cross "
                "the network unencrypted.",
                hint="Serve over https (behind a TLS-terminating proxy) and set the base URL to https://.",
                id="opensspr.W001",
            )
        )
    loopback = {"127.0.0.1", "localhost", "::1"}
    if (
        not settings.OPENSSPR_METRICS_TOKEN
        and not settings.OPENSSPR_TRUSTED_PROXY_HOPS
        and base.hostname not in loopback
    ):
        problems.append(
            Warning(
                "/metrics answers any request that reaches us over loopback without a "
                "forwarding header: a reverse proxy on this host that adds no "
                "X-Forwarded-For would make it public.",
                hint="Set OPENSSPR_METRICS_TOKEN, or OPENSSPR_TRUSTED_PROXY_HOPS for your proxy.",
                id="opensspr.W002",
            )
        )
    return problems
