"""Keyed hashing and constant-time comparison of secrets.

Values that must be recognised later but never read back (a wrong password
seen at sign-in, an unknown user ID in an audit row) are stored as keyed
HMAC-SHA256 digests. The key is derived from ``SECRET_KEY`` and a purpose
string, so a digest made for one purpose is useless for another, and without
the key a stolen table cannot be searched by guessing.
"""

import hmac

from django.utils.crypto import salted_hmac


def keyed_digest(purpose: str, value: str) -> str:
    """Hex HMAC-SHA256 of ``value`` under a key bound to ``purpose``."""
    return salted_hmac(f"opensspr.{purpose}", value, algorithm="sha256").hexdigest()


def secrets_equal(left: str, right: str) -> bool:
    """Compare two secrets in time independent of where they first differ."""
    return hmac.compare_digest(left.encode("utf-8"), right.encode("utf-8"))
