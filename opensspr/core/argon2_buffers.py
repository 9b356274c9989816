"""argon2id with its 19 MiB of working memory kept between hashes.

libargon2 asks for its memory on every hash and gives it back at the end. With the
allocation rules the server sets (``core/serving.py``: buffers over 1 MiB are mapped
and unmapped, so a thread's arena does not keep 19 MiB for good), every hash mapped
fresh pages: about 4,900 page faults, the kernel zeroing each page, and the unmap.
That was a third of every hash's CPU time in the HTTP reset storm (perf, session 16):
38 ms a hash in the server against 24 ms with its memory kept.

So each process keeps at most one buffer per hash slot (``core/hashers.py`` admits one
hash per core) and hands it to libargon2 through the allocation callbacks its context
takes (``argon2.low_level.core``, argon2-cffi's documented binding of ``argon2_ctx``).
libargon2 wipes the memory before it calls the free callback, so a kept buffer holds
nothing of the last password. The context's layout is the library's to change: the
first hash in each process is checked against ``hash_secret_raw``'s answer, and on any
difference this module steps aside for good and the library allocates as before.
"""

import mmap
import os
import threading
import time
from typing import Any

from argon2.low_level import ARGON2_VERSION, Type, core, error_to_str, ffi, hash_secret_raw, lib

from opensspr.core.cpus import usable_cpus

_NO_MEMORY: int = lib.ARGON2_MEMORY_ALLOCATION_ERROR
_local = threading.local()


#: Seconds without a hash after which the kept buffers are let go: a busy server keeps
#: them, an idle one gives its 19 MiB a slot back to the system, and its next hash maps
#: fresh pages once.
IDLE_AFTER = 60.0


class _Buffers:
    """Anonymous mappings of the last size given back, at most ``keep`` of them; let go
    when no hash gave one back for ``IDLE_AFTER`` (a thread watches while any is kept)."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self._free: list[tuple[mmap.mmap, Any]] = []
        self._lock = threading.Lock()
        self._given_at = 0.0
        self._watched = False  # a watcher thread runs

    def take(self, size: int) -> tuple[mmap.mmap, Any]:
        with self._lock:
            if self._free and len(self._free[-1][0]) == size:  # all kept are of one size
                return self._free.pop()
        # Private: a forked child must never hash in its parent's pages (MAP_SHARED is
        # Python's default for an anonymous map).
        mapping = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        return mapping, ffi.cast("uint8_t *", ffi.from_buffer(mapping))

    def give(self, item: tuple[mmap.mmap, Any]) -> None:
        """Keep the buffer; a kept one of another size (other costs, before) is let go."""
        size = len(item[0])
        with self._lock:
            dropped = [kept for kept in self._free if len(kept[0]) != size]
            self._free = [kept for kept in self._free if len(kept[0]) == size]
            if len(self._free) < self.keep:
                self._free.append(item)
            else:
                dropped.append(item)
            self._given_at, watch, self._watched = time.monotonic(), not self._watched, True
        for mapping, _pointer in dropped:
            mapping.close()
        if watch:
            name = "opensspr-argon2-idle"
            try:
                threading.Thread(target=self._let_go_when_idle, name=name, daemon=True).start()
            except RuntimeError:  # no thread to be had (a process limit): the next give tries
                with self._lock:
                    self._watched = False

    def _let_go_when_idle(self) -> None:
        """Sleep until ``IDLE_AFTER`` has passed since the last hash, then drop every kept
        buffer (none is in a hash's hands: those are taken out) and stop watching."""
        while True:
            with self._lock:
                wait = self._given_at + IDLE_AFTER - time.monotonic()
                if wait <= 0:
                    dropped, self._free, self._watched = self._free, [], False
            if wait <= 0:
                break
            time.sleep(wait)
        for mapping, _pointer in dropped:
            mapping.close()

    def clear(self) -> None:
        with self._lock:
            dropped, self._free = self._free, []
        for mapping, _pointer in dropped:
            mapping.close()

    def clear_after_fork(self) -> None:
        """In a forked child: another thread of the parent may have held the lock at the
        fork, and it would stay held for good here, so the child makes a new one."""
        self._lock = threading.Lock()
        self._watched = False  # the parent's watcher is not in the child
        dropped, self._free = self._free, []
        for mapping, _pointer in dropped:
            mapping.close()

    def __len__(self) -> int:
        return len(self._free)


def hash_slots() -> int:
    """Hashes a process runs at once (``core/hashers.py``): one per core it may use."""
    return usable_cpus()


buffers = _Buffers(keep=hash_slots())


class _Unallocated(Exception):
    """libargon2 asked for a size other than the buffer handed over (``_blocks_bytes``)."""


def _allocate(memory: Any, size: int) -> int:
    item = getattr(_local, "item", None)
    if item is None or len(item[0]) != size:
        return _NO_MEMORY
    memory[0] = item[1]
    return 0


def _release(memory: Any, size: int) -> None:
    """The buffer goes back to the pool once ``argon2_ctx`` has returned, not here."""


# cffi returns the ``error`` value if the Python callback raises, never a null pointer.
# Where the system forbids the writable, executable memory a callback needs (SELinux's
# deny_execmem, say), there are none and libargon2 allocates as before.
try:
    _allocate_callback = ffi.callback("allocate_fptr", _allocate, error=_NO_MEMORY)
    _release_callback = ffi.callback("deallocate_fptr", _release)
except (MemoryError, OSError, RuntimeError):
    _allocate_callback = _release_callback = None


def _blocks_bytes(memory_cost: int, parallelism: int) -> int:
    """What libargon2 allocates: whole 1 KiB blocks, 4 slices per lane (``argon2_ctx``)."""
    quarter = 4 * parallelism
    blocks = max(memory_cost, 2 * quarter)
    return (blocks - blocks % quarter) * 1024


def _hash_in_kept_buffer(
    secret: bytes, salt: bytes, time_cost: int, memory_cost: int, hash_len: int
) -> bytes:
    out = ffi.new("uint8_t[]", hash_len)
    password = ffi.new("uint8_t[]", secret)
    salt_data = ffi.new("uint8_t[]", salt)
    context = ffi.new(
        "argon2_context *",
        {
            "out": out,
            "outlen": hash_len,
            "pwd": password,
            "pwdlen": len(secret),
            "salt": salt_data,
            "saltlen": len(salt),
            "secret": ffi.NULL,
            "secretlen": 0,
            "ad": ffi.NULL,
            "adlen": 0,
            "t_cost": time_cost,
            "m_cost": memory_cost,
            "lanes": 1,
            "threads": 1,
            "version": ARGON2_VERSION,
            "allocate_cbk": _allocate_callback,
            "free_cbk": _release_callback,
            "flags": lib.ARGON2_FLAG_CLEAR_PASSWORD,  # our copy of the password, once used
        },
    )
    size = _blocks_bytes(memory_cost, 1)
    item = buffers.take(size)
    _local.item = item
    try:
        status = core(context, Type.ID.value)
    finally:
        _local.item = None
        buffers.give(item)
    if status == _NO_MEMORY:
        raise _Unallocated(size)
    if status != 0:
        raise ValueError(f"argon2id failed: {error_to_str(status)}")
    return bytes(ffi.buffer(out, hash_len))


class _Checked:
    state: bool | None = None  # None: not yet checked in this process
    lock = threading.Lock()


def _check() -> None:
    """Compare a small hash made in a kept buffer with the library's own, once."""
    with _Checked.lock:
        if _Checked.state is not None:
            return
        password, salt = b"kept-buffer-probe", b"sixteen byte salt"
        try:
            ours = _hash_in_kept_buffer(password, salt, 1, 64, 32)
        except (_Unallocated, ValueError, TypeError, AttributeError, KeyError, OSError):
            ours = b""
        theirs = hash_secret_raw(
            password, salt, time_cost=1, memory_cost=64, parallelism=1, hash_len=32, type=Type.ID
        )
        _Checked.state = _allocate_callback is not None and ours == theirs
        buffers.clear()  # the probe's 64 KiB buffer is no hash's size


def argon2id_raw(
    secret: bytes, salt: bytes, *, time_cost: int, memory_cost: int, hash_len: int
) -> bytes:
    """argon2id with one lane, equal to ``hash_secret_raw``'s answer for the same input."""
    if _Checked.state is None:
        _check()
    if _Checked.state:
        try:
            return _hash_in_kept_buffer(secret, salt, time_cost, memory_cost, hash_len)
        except _Unallocated:
            pass  # a size ``_blocks_bytes`` did not foresee: the library allocates it
    return hash_secret_raw(
        secret,
        salt,
        time_cost=time_cost,
        memory_cost=memory_cost,
        parallelism=1,
        hash_len=hash_len,
        type=Type.ID,
    )


def _after_fork_in_child() -> None:
    """A worker forked from a process that hashed keeps none of its buffers, and gets
    locks of its own (another thread may have held the parent's at the fork)."""
    buffers.clear_after_fork()
    _Checked.lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
