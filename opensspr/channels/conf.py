"""Deployment settings this app reads, with their embedded defaults.

They come from the environment through ``opensspr/config/settings.py``; read
them only through these functions so a missing line there falls back to the
safe default instead of failing.
"""

from datetime import timedelta

from django.conf import settings

INLINE = "inline"
WORKER = "worker"

#: How long the outbox channel keeps a delivered body readable after it expired.
OUTBOX_RETENTION = timedelta(hours=1)
#: A claim older than this belongs to a worker that died mid-send.
CLAIM_LEASE = timedelta(minutes=10)
#: Backoff: 1, 2, 4 ... minutes, never more than this.
MAX_BACKOFF = timedelta(minutes=30)


def delivery_mode() -> str:
    return str(getattr(settings, "OPENSSPR_DELIVERY_MODE", INLINE)).lower()


def inline_in_background() -> bool:
    """Inline sends run beside the request, never inside it.

    A send inside the request would make the response as slow as the provider
    exactly when a code was really sent, and as fast as nothing when it was not:
    a timing oracle for which user IDs exist (attack A1). Tests switch this off
    to read deliveries deterministically.
    """
    return bool(getattr(settings, "OPENSSPR_INLINE_DELIVERY_IN_BACKGROUND", True))


def outbox_page_enabled() -> bool:
    return bool(getattr(settings, "OPENSSPR_OUTBOX_PAGE", False))


def max_attempts() -> int:
    return int(getattr(settings, "OPENSSPR_DELIVERY_MAX_ATTEMPTS", 8))


def provider_timeout() -> float:
    """Seconds a provider call may take (connect and each read)."""
    return float(getattr(settings, "OPENSSPR_PROVIDER_TIMEOUT", 10))


def twilio_api_url() -> str:
    """Twilio's REST base URL; changed only by tests (a loopback fake of the API)."""
    return str(getattr(settings, "OPENSSPR_TWILIO_API_URL", "https://api.twilio.com"))


def base_url() -> str:
    return str(settings.OPENSSPR_BASE_URL).rstrip("/")
