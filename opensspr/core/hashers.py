"""Password hashing for the built-in directory.

argon2id with the OWASP Password Storage Cheat Sheet's first parameter set
(m=19 MiB, t=2, p=1): about 20 ms per hash on our 2-core reference machine,
against about 125 ms for Django's default. Sign-in and reset storms stay
affordable while an offline guess still costs a full argon2id run. Django's own
Argon2 hasher stays listed so older hashes verify and are upgraded on sign-in.
"""

import os
import threading
from typing import Any

from django.contrib.auth.hashers import Argon2PasswordHasher

# At most one hash per core runs in a process. Each needs its 19 MiB buffer, and a hash
# (one core, GIL released) can't go faster for having company: with eight request
# threads hashing at once a process grew by 150 MB for no throughput at all.
_HASH_SLOTS = threading.BoundedSemaphore(os.cpu_count() or 1)


class OwaspArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19456
    parallelism = 1

    def encode(self, password: str, salt: str) -> str:
        with _HASH_SLOTS:
            return str(super().encode(password, salt))

    def verify(self, password: str, encoded: str) -> bool:
        with _HASH_SLOTS:
            return bool(super().verify(password, encoded))

    def harden_runtime(self, password: str, encoded: str) -> Any:
        with _HASH_SLOTS:
            return super().harden_runtime(password, encoded)
