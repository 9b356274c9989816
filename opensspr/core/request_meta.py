"""Who is asking: the request facts that services audit and throttle on.

Services never take a ``HttpRequest``; views hand them a :class:`RequestMeta`.
The client address comes from the socket unless the operator declared trusted
proxy hops, and then only from the hop those proxies appended, so a spoofed
``X-Forwarded-For`` cannot move counters or forge audit rows.
"""

import ipaddress
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

_MAX_USER_AGENT = 512
_MAX_DEVICE = 1024


@dataclass(frozen=True)
class RequestMeta:
    ip_address: str | None
    user_agent: str
    correlation_id: str
    device: str = ""  # the familiar-device cookie as sent, unverified (signin.devices reads it)

    @classmethod
    def system(cls, correlation_id: str | None = None) -> "RequestMeta":
        """Meta for work that no HTTP request started (commands, workers)."""
        return cls(None, "opensspr-cli", correlation_id or new_correlation_id())


def new_correlation_id() -> str:
    return secrets.token_hex(16)


def client_ip(request: HttpRequest) -> str | None:
    hops = settings.OPENSSPR_TRUSTED_PROXY_HOPS
    candidate = request.META.get("REMOTE_ADDR", "")
    if hops:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= hops:
            candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def request_meta(request: HttpRequest) -> RequestMeta:
    correlation_id = getattr(request, "correlation_id", None) or new_correlation_id()
    agent = request.META.get("HTTP_USER_AGENT", "")[:_MAX_USER_AGENT]
    # The signed "familiar device" cookie a successful sign-in leaves (``signin.devices``).
    device = request.COOKIES.get(settings.OPENSSPR_DEVICE_COOKIE_NAME, "")
    device = device if len(device) <= _MAX_DEVICE else ""
    return RequestMeta(client_ip(request), agent, correlation_id, device)
