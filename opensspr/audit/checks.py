"""Start-up checks for syslog forwarding set-ups that parse but would not do what was meant."""

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register

from opensspr.audit.syslog import Destination

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@register()
def check_syslog_forwarding(app_configs: object = None, **kwargs: object) -> list[CheckMessage]:
    url = settings.OPENSSPR_AUDIT_SYSLOG_URL
    if not url:
        return []
    destination = Destination.parse(url)
    problems: list[CheckMessage] = []
    if destination.transport != "tls" and destination.host not in _LOOPBACK:
        problems.append(
            Warning(
                f"Audit events go to {destination} unencrypted: who, from which address and "
                "with which outcome cross the network in clear.",
                hint="Use tls:// (RFC 5425), or a relay on this host (udp:// or tcp:// to "
                "127.0.0.1) that forwards over TLS.",
                id="opensspr.audit.W001",
            )
        )
    if settings.OPENSSPR_AUDIT_SYSLOG_CA_FILE and destination.transport != "tls":
        problems.append(
            Warning(
                "OPENSSPR_AUDIT_SYSLOG_CA_FILE is set, but OPENSSPR_AUDIT_SYSLOG_URL is not "
                "tls://: the CA file is not used.",
                id="opensspr.audit.W002",
            )
        )
    return problems
