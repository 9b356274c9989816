"""The ALTCHA proof of work as this deployment speaks it (pure: no database).

We use the ALTCHA v1 ("legacy") challenge from the ``altcha`` package:
``challenge = SHA-256(salt + number)`` for a secret random ``number`` in
``[0, max_number]``, and ``signature = HMAC-SHA-256(key, challenge)``. The
browser finds the number by trying them all; the server recognises its own
challenge by the signature and keeps no state until a solution is redeemed.
v1 was chosen over the v2 PBKDF2 variant because its one primitive, a single
SHA-256 of a short string, is small enough to implement in our own worker
(``static/opensspr/captcha-worker.js``) and fast without WebCrypto, which
browsers only offer on https or loopback origins.

The salt is ``<24 hex>?expires=<unix seconds>&``: the expiry is inside the
hashed string, so it is covered by the signature and cannot be moved. We check
it against :func:`opensspr.core.clock.now` ourselves (the package's own check
reads the wall clock), and we compare digests in constant time, which is why
verification uses the package's ``hash_hex``/``hmac_hex`` rather than
``verify_solution_v1`` (it compares with ``==``).

The HMAC key is derived from ``SECRET_KEY`` for this purpose only, so a
challenge signed by another deployment (or for another purpose) never
verifies here. Single use is not this module's business: see ``services``.
"""

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, TypedDict

import altcha
from django.conf import settings

from opensspr.core import clock
from opensspr.core.crypto import keyed_digest, secrets_equal

ALGORITHM: Final = "SHA-256"
# Work for the browser: the secret number is uniform in [0, MAX_NUMBER], so a
# solve takes MAX_NUMBER / 2 hashes on average. Our worker does 1.0-1.2 million
# a second in headless Chromium on this project's 2-vCPU AMD EPYC test box:
# median 80-165 ms, worst 175-220 ms (tests/e2e/test_captcha_widget.py prints
# the figures). A slow phone may take a few times that; a bot with native code
# far less, which is why this is a cost and a single-use ticket, not a wall:
# the reset throttles still apply behind it.
MAX_NUMBER = 250_000
TTL = timedelta(minutes=10)
# The widget fetches a new challenge before sending a solution older than this.
REFRESH_AFTER = TTL - timedelta(minutes=2)
# A real payload is about 350 characters; anything far longer is not ours.
MAX_PAYLOAD_CHARS = 4096
SALT_BYTES = 12

_FIELDS = frozenset({"algorithm", "challenge", "number", "salt", "signature"})
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_SALT = re.compile(rf"[0-9a-f]{{{2 * SALT_BYTES}}}\?expires=([0-9]{{1,11}})&")
_NUMBER_CEILING = 10**9


class ChallengeJson(TypedDict):
    """What the widget receives from ``GET /captcha/challenge``."""

    algorithm: str
    challenge: str
    maxNumber: int
    salt: str
    signature: str


@dataclass(frozen=True)
class Solution:
    """A solution whose work and signature checked out and that has not expired."""

    signature: str
    expires_at: datetime


def hmac_key() -> str:
    return keyed_digest("captcha.hmac-key", "altcha-v1")


def max_number() -> int:
    return int(getattr(settings, "OPENSSPR_CAPTCHA_MAX_NUMBER", MAX_NUMBER))


def new_challenge() -> ChallengeJson:
    options = altcha.ChallengeOptionsV1(
        algorithm=ALGORITHM,
        max_number=max_number(),
        salt_length=SALT_BYTES,
        hmac_key=hmac_key(),
        expires=clock.now() + TTL,
    )
    made = altcha.create_challenge_v1(options)
    return ChallengeJson(
        algorithm=made.algorithm,
        challenge=made.challenge,
        maxNumber=made.max_number,
        salt=made.salt,
        signature=made.signature,
    )


def check_payload(payload: object, *, now: datetime) -> Solution | None:
    """The solution in ``payload`` if it is well formed, ours, solved and unexpired.

    Never raises on input: anything malformed, oversized, unsigned, unsolved or
    expired is ``None``. Says nothing about whether it was used before.
    """
    fields = _decode(payload)
    if fields is None:
        return None
    worked = altcha.hash_hex(ALGORITHM, f"{fields.salt}{fields.number}".encode("ascii"))
    if not secrets_equal(worked, fields.challenge):
        return None
    signed = altcha.hmac_hex(ALGORITHM, fields.challenge.encode("ascii"), hmac_key())
    if not secrets_equal(signed, fields.signature):
        return None
    expires_at = _expires_at(fields.salt)  # only now is the salt known to be ours
    if expires_at is None or expires_at <= now:
        return None
    return Solution(signature=fields.signature, expires_at=expires_at)


@dataclass(frozen=True)
class _Fields:
    challenge: str
    number: int
    salt: str
    signature: str


def _decode(payload: object) -> _Fields | None:
    """The payload's fields, or ``None`` unless it has exactly our shape and types."""
    if not isinstance(payload, str) or not payload or len(payload) > MAX_PAYLOAD_CHARS:
        return None
    try:
        data = json.loads(base64.b64decode(payload.encode("ascii"), validate=True))
    except (ValueError, RecursionError):  # binascii.Error and UnicodeError are ValueErrors
        return None
    if not _has_our_shape(data):
        return None
    return _Fields(
        challenge=data["challenge"],
        number=data["number"],
        salt=data["salt"],
        signature=data["signature"],
    )


def _has_our_shape(data: object) -> bool:
    if not isinstance(data, dict) or set(data) != _FIELDS or data["algorithm"] != ALGORITHM:
        return False
    number, challenge = data["number"], data["challenge"]
    signature, salt = data["signature"], data["salt"]
    return (
        type(number) is int  # no bools, no floats, no digit strings
        and 0 <= number <= _NUMBER_CEILING
        and isinstance(challenge, str)
        and _HEX_DIGEST.fullmatch(challenge) is not None
        and isinstance(signature, str)
        and _HEX_DIGEST.fullmatch(signature) is not None
        and isinstance(salt, str)
        and _SALT.fullmatch(salt) is not None
    )


def _expires_at(salt: str) -> datetime | None:
    match = _SALT.fullmatch(salt)
    if match is None:
        return None
    return datetime.fromtimestamp(int(match.group(1)), tz=UTC)
