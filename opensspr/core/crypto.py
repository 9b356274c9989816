"""Keyed hashing and constant-time comparison of secrets.

Values that must be recognised later but never read back (a wrong password
seen at sign-in, an unknown user ID in an audit row) are stored as keyed
HMAC-SHA256 digests. The key is derived from ``SECRET_KEY`` and a purpose
string, so a digest made for one purpose is useless for another, and without
the key a stolen table cannot be searched by guessing.
"""

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac


def keyed_digest(purpose: str, value: str) -> str:
    """Hex HMAC-SHA256 of ``value`` under a key bound to ``purpose``."""
    return salted_hmac(f"opensspr.{purpose}", value, algorithm="sha256").hexdigest()


def secrets_equal(left: str, right: str) -> bool:
    """Compare two secrets in time independent of where they first differ."""
    return hmac.compare_digest(left.encode("utf-8"), right.encode("utf-8"))


# --- Encryption at rest ------------------------------------------------------------
# Secrets we must read back (TOTP seeds, provider credentials, undelivered message
# bodies) are sealed with Fernet (AES-128-CBC + HMAC-SHA256). The key comes from
# OPENSSPR_ENCRYPTION_KEY when set (so the database and SECRET_KEY can be rotated
# apart), else it is derived from SECRET_KEY; old keys in
# OPENSSPR_ENCRYPTION_KEY_FALLBACKS still open what they sealed.


class DecryptionError(ValueError):
    """A sealed value could not be opened with any configured key."""


def _fernet_key(material: str) -> bytes:
    digest = hashlib.sha256(f"opensspr.encryption\x00{material}".encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _box() -> MultiFernet:
    primary = settings.OPENSSPR_ENCRYPTION_KEY or settings.SECRET_KEY
    keys = [primary, *settings.OPENSSPR_ENCRYPTION_KEY_FALLBACKS]
    return MultiFernet([Fernet(_fernet_key(k)) for k in keys])


def seal(plaintext: str) -> str:
    return _box().encrypt(plaintext.encode("utf-8")).decode("ascii")


def unseal(token: str) -> str:
    try:
        return _box().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError) as exc:
        raise DecryptionError("sealed value can't be opened with the configured keys") from exc
