"""Where voice calls report the key a person pressed.

``/hooks/voice/<hook name>/<token>`` (``twilio``, ``outbox``): the reset flow's
webhook view is wired to this path, and each voice channel verifies its own
callbacks. The URL is
always built from ``OPENSSPR_BASE_URL``, never from a request's Host header.
"""

import re

from django.http import HttpRequest

from opensspr.channels.conf import base_url

_OPAQUE_ID = r"[A-Za-z0-9_\-.~]{8,200}"


def voice_callback_path(hook_name: str, token: str) -> str:
    return f"/hooks/voice/{hook_name}/{token}"


def voice_callback_url(hook_name: str, token: str) -> str:
    return base_url() + voice_callback_path(hook_name, token)


def token_from_path(hook_name: str, request: HttpRequest) -> str | None:
    """The token in a callback request's path, if the path is this channel's."""
    pattern = rf"/hooks/voice/{re.escape(hook_name)}/(?P<token>{_OPAQUE_ID})/?"
    match = re.fullmatch(pattern, request.path_info)
    return match["token"] if match else None


def public_url(request: HttpRequest) -> str:
    """The URL the caller used, as the public base URL spells it (what providers sign)."""
    query = request.META.get("QUERY_STRING", "")
    return base_url() + request.path_info + (f"?{query}" if query else "")
