"""Sealing a password to one agent's public key (no Django: the agent opens what this seals).

The server hands a new password to an on-premises agent through its own job
queue, so the password must never sit in the server's database in a form the
server can read back. Each agent makes an X25519 key pair when it enrols and
keeps the private half; the server seals each password to the public halves
of the agents that may run the job and forgets the plaintext.

The construction is the usual ECIES: a fresh ephemeral X25519 key per seal,
HKDF-SHA256 over the shared secret (salted with both public keys) for a
256-bit key, AES-256-GCM over the plaintext with the job's identity as
associated data, so an envelope can't be replayed into another job or kind.
"""

import base64
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"s1"
_INFO = b"opensspr agent sealed secret v1"
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


class SealError(ValueError):
    """An envelope that isn't ours, was altered, or belongs to another job."""


def new_private_key() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def private_key_bytes(key: X25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )


def private_key_from(raw: bytes) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(raw)


def public_key_text(key: X25519PrivateKey) -> str:
    """The public half as sent at enrolment: URL-safe base64 of the 32 raw bytes."""
    return base64.urlsafe_b64encode(key.public_key().public_bytes(*_RAW)).decode()


def public_key_from(text: str) -> X25519PublicKey:
    try:
        raw = base64.urlsafe_b64decode(text.encode())
        if len(raw) != 32:
            raise ValueError("length")
        return X25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise SealError("not an X25519 public key") from exc


def _key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=ephemeral + recipient, info=_INFO).derive(
        shared
    )


def seal(recipient: X25519PublicKey, plaintext: str, *, context: str) -> str:
    """``plaintext`` readable only by the holder of ``recipient``'s private key, for ``context``."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_raw = ephemeral.public_key().public_bytes(*_RAW)
    recipient_raw = recipient.public_bytes(*_RAW)
    key = _key(ephemeral.exchange(recipient), ephemeral_raw, recipient_raw)
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), VERSION + context.encode())
    return base64.urlsafe_b64encode(VERSION + ephemeral_raw + nonce + sealed).decode()


def open_sealed(private: X25519PrivateKey, envelope: str, *, context: str) -> str:
    """The plaintext of ``envelope``; ``SealError`` if it wasn't sealed to us for ``context``."""
    try:
        raw = base64.urlsafe_b64decode(envelope.encode())
    except ValueError as exc:
        raise SealError("not an envelope") from exc
    if len(raw) < 2 + 32 + 12 + 16 or raw[:2] != VERSION:
        raise SealError("not an envelope")
    ephemeral_raw, nonce, sealed = raw[2:34], raw[34:46], raw[46:]
    recipient_raw = private.public_key().public_bytes(*_RAW)
    ephemeral = X25519PublicKey.from_public_bytes(ephemeral_raw)
    key = _key(private.exchange(ephemeral), ephemeral_raw, recipient_raw)
    try:
        return AESGCM(key).decrypt(nonce, sealed, VERSION + context.encode()).decode()
    except Exception as exc:  # InvalidTag: altered, or another job's envelope
        raise SealError("the envelope doesn't open for this job") from exc
