"""Password hashing for the built-in directory.

argon2id with the OWASP Password Storage Cheat Sheet's first parameter set
(m=19 MiB, t=2, p=1): about 20 ms per hash on our 2-core reference machine,
against about 125 ms for Django's default. Sign-in and reset storms stay
affordable while an offline guess still costs a full argon2id run.

This is the only hasher for the ``argon2`` algorithm name: Django picks the
hasher that verifies a stored hash by that name, and a second class listed
under it (Django's own, as until session 16) verified every sign-in itself,
outside the hash slots below. A hash stored with other parameters (Django's
defaults, say) verifies here too, as they are written in it, and is upgraded on
sign-in (``must_update``).
"""

import base64
import hmac
import os
import threading

import argon2
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.utils.encoding import force_bytes

from opensspr.core.argon2_buffers import argon2id_raw, hash_slots

# At most one hash per core runs in a process. Each needs its 19 MiB buffer, and a hash
# (one core, GIL released) can't go faster for having company: with eight request
# threads hashing at once a process grew by 150 MB for no throughput at all.
_HASH_SLOTS = threading.BoundedSemaphore(hash_slots())


def _slots_after_fork() -> None:
    """A forked child gets every slot: those other threads held at the fork stay taken."""
    global _HASH_SLOTS  # noqa: PLW0603  # rebound in a forked child only
    _HASH_SLOTS = threading.BoundedSemaphore(hash_slots())


os.register_at_fork(after_in_child=_slots_after_fork)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


class OwaspArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19456
    parallelism = 1

    def encode(self, password: str, salt: str) -> str:
        params = self.params()
        if params.parallelism != 1:  # kept buffers hash one lane
            with _HASH_SLOTS:
                return str(super().encode(password, salt))
        salt_bytes = force_bytes(salt)
        with _HASH_SLOTS:
            digest = argon2id_raw(
                force_bytes(password),
                salt_bytes,
                time_cost=params.time_cost,
                memory_cost=params.memory_cost,
                hash_len=params.hash_len,
            )
        return f"{self.algorithm}{_phc(params.memory_cost, params.time_cost, salt_bytes, digest)}"

    def verify(self, password: str, encoded: str) -> bool:
        algorithm, _, rest = encoded.partition("$")
        assert algorithm == self.algorithm  # Django's own contract
        kept = _ours_to_verify("$" + rest, self.params())
        with _HASH_SLOTS:
            if kept is None:
                # Other parameters or variants, or a string libargon2 would refuse: the
                # library's own path, and its answer (False for what it refuses, a
                # stored value that is no hash at all included).
                try:
                    return bool(super().verify(password, encoded))
                except (argon2.exceptions.InvalidHashError, ValueError):
                    return False
            time_cost, salt, expected = kept
            digest = argon2id_raw(
                force_bytes(password),
                salt,
                time_cost=time_cost,
                memory_cost=self.memory_cost,
                hash_len=len(expected),
            )
        return hmac.compare_digest(digest, expected)

    def must_update(self, encoded: str) -> bool:
        """Django asks before it verifies: a stored value that is no hash needs no upgrade
        (it verifies as False) rather than an error."""
        try:
            return bool(super().must_update(encoded))
        except (argon2.exceptions.InvalidHashError, ValueError):
            return False


def _phc(memory_cost: int, time_cost: int, salt: bytes, digest: bytes) -> str:
    """The string libargon2 writes for an argon2id hash of one lane."""
    version = argon2.low_level.ARGON2_VERSION
    return f"$argon2id$v={version}$m={memory_cost},t={time_cost},p=1${_b64(salt)}${_b64(digest)}"


def _ours_to_verify(phc: str, ours: argon2.Parameters) -> tuple[int, bytes, bytes] | None:
    """(time cost, salt, digest) of a stored hash made with our memory cost and one lane,
    written exactly as libargon2 writes it, within the bounds it accepts; else None.

    Anything else (padded base64, a short salt, ``t=0``...) goes to the library, which
    refuses what it must, as it did before hashes ran in kept buffers.
    """
    try:
        stored = argon2.extract_parameters(phc)
        *_, salt_text, digest_text = phc.split("$")
        salt, digest = _unb64(salt_text), _unb64(digest_text)
    except (argon2.exceptions.InvalidHashError, ValueError):
        return None
    if (stored.type, stored.version, stored.memory_cost, stored.parallelism) != (
        ours.type,
        ours.version,
        ours.memory_cost,
        1,
    ):
        return None
    if len(salt) < 8 or len(digest) < 4 or not 1 <= stored.time_cost < 2**32:
        return None
    if _phc(stored.memory_cost, stored.time_cost, salt, digest) != phc:
        return None
    return stored.time_cost, salt, digest
