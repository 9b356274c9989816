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

from opensspr.core.argon2_buffers import argon2id_raw

# At most one hash per core runs in a process. Each needs its 19 MiB buffer, and a hash
# (one core, GIL released) can't go faster for having company: with eight request
# threads hashing at once a process grew by 150 MB for no throughput at all.
_HASH_SLOTS = threading.BoundedSemaphore(os.cpu_count() or 1)


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
        salt_bytes = force_bytes(salt)
        with _HASH_SLOTS:
            digest = argon2id_raw(
                force_bytes(password),
                salt_bytes,
                time_cost=params.time_cost,
                memory_cost=params.memory_cost,
                hash_len=params.hash_len,
            )
        # The PHC string libargon2 writes, after Django's algorithm name.
        return (
            f"{self.algorithm}$argon2id$v={params.version}$m={params.memory_cost},"
            f"t={params.time_cost},p={params.parallelism}${_b64(salt_bytes)}${_b64(digest)}"
        )

    def verify(self, password: str, encoded: str) -> bool:
        algorithm, rest = encoded.split("$", 1)
        assert algorithm == self.algorithm  # Django's own contract
        try:
            stored = argon2.extract_parameters("$" + rest)
        except argon2.exceptions.InvalidHashError:
            return False
        ours = self.params()
        with _HASH_SLOTS:
            if (stored.type, stored.version, stored.memory_cost, stored.parallelism) != (
                ours.type,
                ours.version,
                ours.memory_cost,
                ours.parallelism,
            ):
                # Parameters of another hasher: the library's own path, its own memory.
                return bool(super().verify(password, encoded))
            *_, salt, expected = rest.split("$")
            try:
                salt_bytes, expected_bytes = _unb64(salt), _unb64(expected)
            except ValueError:
                return False
            digest = argon2id_raw(
                force_bytes(password),
                salt_bytes,
                time_cost=stored.time_cost,
                memory_cost=stored.memory_cost,
                hash_len=len(expected_bytes),
            )
        return hmac.compare_digest(digest, expected_bytes)
