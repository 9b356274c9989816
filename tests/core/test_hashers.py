"""argon2id in kept buffers writes and reads exactly what argon2-cffi does, and keeps no secret."""

import os
import signal
import threading
import time

import argon2
import pytest
from argon2.low_level import Type, hash_secret_raw
from django.contrib.auth.hashers import (
    Argon2PasswordHasher,
    check_password,
    identify_hasher,
    make_password,
)

from opensspr.core import argon2_buffers, hashers
from opensspr.core.argon2_buffers import argon2id_raw, buffers, hash_slots
from opensspr.core.hashers import OwaspArgon2PasswordHasher

PASSWORDS = ["Harbour-Lights-77", "", "pässwörd ✓ 密码", "x" * 300]


class _LibraryOwasp(Argon2PasswordHasher):
    """Django's own hasher, with our parameters: the library allocates its memory."""

    time_cost, memory_cost, parallelism = 2, 19456, 1


@pytest.mark.parametrize("password", PASSWORDS)
def test_encodes_what_the_library_encodes(password):
    salt = "QbHh3bZr8Xk1pV9c2m4Tnq"
    assert OwaspArgon2PasswordHasher().encode(password, salt) == _LibraryOwasp().encode(
        password, salt
    )


def test_raw_hash_equals_the_library_for_other_costs():
    for time_cost, memory_cost, hash_len in [(1, 8, 16), (3, 1000, 32), (2, 19456, 64)]:
        kwargs = {"time_cost": time_cost, "memory_cost": memory_cost, "hash_len": hash_len}
        theirs = hash_secret_raw(b"secret", b"saltsaltsalt", parallelism=1, type=Type.ID, **kwargs)
        assert argon2id_raw(b"secret", b"saltsaltsalt", **kwargs) == theirs


def test_verifies_its_own_hashes_and_refuses_wrong_passwords():
    hasher = OwaspArgon2PasswordHasher()
    encoded = hasher.encode("Harbour-Lights-77", hasher.salt())
    assert hasher.verify("Harbour-Lights-77", encoded)
    assert not hasher.verify("Harbour-Lights-78", encoded)
    assert not hasher.verify("", encoded)


def test_verifies_hashes_the_library_wrote():
    library = argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
    encoded = "argon2" + library.hash("Harbour-Lights-77")
    assert check_password("Harbour-Lights-77", encoded)
    assert not check_password("Harbour-Lights-7", encoded)


def test_a_hash_with_djangos_default_parameters_verifies_and_is_upgraded():
    old = _LibraryOwasp()
    old.memory_cost, old.parallelism = 102400, 8  # Django's defaults
    encoded = old.encode("Harbour-Lights-77", old.salt())
    assert isinstance(identify_hasher(encoded), OwaspArgon2PasswordHasher)
    upgraded: list[str] = []
    assert check_password("Harbour-Lights-77", encoded, setter=upgraded.append)
    assert upgraded == ["Harbour-Lights-77"]
    assert not check_password("Harbour-Lights-78", encoded)


def test_new_hashes_are_verified_by_the_slotted_hasher():
    encoded = make_password("Harbour-Lights-77")
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert type(identify_hasher(encoded)) is OwaspArgon2PasswordHasher


@pytest.mark.parametrize(
    "broken",
    [
        "argon2$argon2id$v=19$m=19456,t=2,p=1$not*base64$AAAA",
        "argon2$argon2id$v=19$m=19456,t=2,p=1$QUFBQUFBQUFBQUFB",
        "argon2$nonsense",
        "argon2$argon2id$garbage",
        "argon2$",
        "argon2",
        "argon2$argon2id$v=19$m=19456,t=2,p=1,x=2$c2FsdHNhbHRzYWx0$" + "A" * 43,
        "argon2$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$ÄÄÄÄ",
    ],
)
def test_a_malformed_hash_is_refused_not_raised(broken):
    """A corrupted or hand-edited row: the sign-in fails, it doesn't answer with an error."""
    assert not OwaspArgon2PasswordHasher().verify("Harbour-Lights-77", broken)
    assert not check_password("Harbour-Lights-77", broken)


def test_kept_buffers_are_wiped_and_bounded():
    argon2id_raw(b"pw", b"saltsaltsalt", time_cost=1, memory_cost=8, hash_len=16)
    assert len(buffers) == 1  # a small buffer kept, which the first real hash lets go
    hasher = OwaspArgon2PasswordHasher()
    errors: list[BaseException] = []

    def hash_a_few() -> None:
        try:
            for _ in range(3):
                assert hasher.verify("pw", hasher.encode("pw", hasher.salt()))
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=hash_a_few) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
    finally:
        for thread in threads:
            thread.join()
    assert not errors
    assert 1 <= len(buffers) <= buffers.keep
    for mapping, _pointer in buffers._free:
        assert len(mapping) == 19456 * 1024
        assert mapping[:].count(0) == len(mapping), "libargon2 left data in a kept buffer"


@pytest.fixture
def fresh_buffers(monkeypatch) -> argon2_buffers._Buffers:
    """Buffers of their own (no watcher of an earlier test asleep on them)."""
    fresh = argon2_buffers._Buffers(keep=2)
    monkeypatch.setattr(argon2_buffers, "buffers", fresh)
    return fresh


def _kept_until(kept: argon2_buffers._Buffers, wanted: int, seconds: float = 10.0) -> int:
    deadline = time.monotonic() + seconds
    while len(kept) != wanted and time.monotonic() < deadline:
        time.sleep(0.01)
    return len(kept)


def test_kept_buffers_go_back_to_the_system_once_no_hash_came_for_a_while(
    fresh_buffers, monkeypatch
):
    """An idle server doesn't hold 19 MiB a hash slot for good; the next hash still works."""
    monkeypatch.setattr(argon2_buffers, "IDLE_AFTER", 2.0)  # the checks between come first
    first = argon2id_raw(b"pw", b"saltsaltsalt", time_cost=1, memory_cost=8, hash_len=16)
    assert len(fresh_buffers) == 1
    kept = fresh_buffers._free[0][0]
    assert _kept_until(fresh_buffers, 0) == 0
    assert kept.closed  # unmapped, not merely forgotten
    again = argon2id_raw(b"pw", b"saltsaltsalt", time_cost=1, memory_cost=8, hash_len=16)
    assert again == first and len(fresh_buffers) == 1  # kept again, and watched again
    assert _kept_until(fresh_buffers, 0) == 0


def test_a_watcher_that_cannot_start_breaks_no_hash(fresh_buffers, monkeypatch):
    """A process out of threads still hashes; the next hash tries to watch again."""

    class NoThread:
        def __init__(self, *args, **kwargs) -> None:
            pass

        def start(self) -> None:
            raise RuntimeError("can't start new thread")

    monkeypatch.setattr(argon2_buffers.threading, "Thread", NoThread)
    argon2id_raw(b"pw", b"saltsaltsalt", time_cost=1, memory_cost=8, hash_len=16)
    assert len(fresh_buffers) == 1 and not fresh_buffers._watched


def test_a_busy_server_keeps_its_buffers(fresh_buffers, monkeypatch):
    monkeypatch.setattr(argon2_buffers, "IDLE_AFTER", 30.0)
    argon2id_raw(b"pw", b"saltsaltsalt", time_cost=1, memory_cost=8, hash_len=16)
    kept = fresh_buffers._free[0][0]
    argon2id_raw(b"pw", b"saltsaltsalt", time_cost=1, memory_cost=8, hash_len=16)
    assert len(fresh_buffers) == 1 and fresh_buffers._free[0][0] is kept  # the same pages


def test_the_library_allocates_when_the_probe_failed(monkeypatch):
    monkeypatch.setattr(argon2_buffers._Checked, "state", False)
    buffers.clear()
    kwargs = {"time_cost": 2, "memory_cost": 19456, "hash_len": 32}
    theirs = hash_secret_raw(b"pw", b"saltsaltsalt", parallelism=1, type=Type.ID, **kwargs)
    assert argon2id_raw(b"pw", b"saltsaltsalt", **kwargs) == theirs
    assert len(buffers) == 0


@pytest.mark.parametrize(
    "phc",
    [
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$" + "A" * 43,  # a 4-byte salt
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$AAAA",  # a 3-byte hash
        "$argon2id$v=19$m=19456,t=0,p=1$c2FsdHNhbHRzYWx0$" + "A" * 43,  # no passes
        f"$argon2id$v=19$m=19456,t={2**32},p=1$c2FsdHNhbHRzYWx0$" + "A" * 43,
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$" + "A" * 43 + "=",  # padded
    ],
)
def test_what_libargon2_refuses_is_refused_not_raised(phc):
    """Such rows verify as False, as they did when the library verified every hash."""
    assert not OwaspArgon2PasswordHasher().verify("Harbour-Lights-77", "argon2" + phc)
    assert not _LibraryOwasp().verify("Harbour-Lights-77", "argon2" + phc)


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded")
def test_a_forked_child_gets_no_buffers_and_free_locks(tmp_path):
    """A lock held by another thread at the fork stays held in the child: it gets new ones."""
    hasher = OwaspArgon2PasswordHasher()
    hasher.encode("pw", hasher.salt())
    assert len(buffers) >= 1
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:  # the buffers' lock and every hash slot, as busy hashes hold them
        slots = hashers._HASH_SLOTS
        taken = [slots.acquire(timeout=5) for _ in range(hash_slots())]
        try:
            with buffers._lock:
                holding.set()
                release.wait(10)
        finally:
            for _ in filter(None, taken):
                slots.release()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        holding.wait(5)
        done = tmp_path / "child"
        pid = os.fork()
        if pid == 0:  # the child: hash once, say what it found, leave at once
            try:
                kept_before = len(buffers)
                hasher.verify("pw", hasher.encode("pw", hasher.salt()))
                done.write_text(f"{kept_before} {len(buffers)}")
            finally:
                os._exit(0)
        status = _exit_status(pid, within=15)
    finally:
        release.set()
        holder.join()
    assert status == 0, "the child hung on a lock it inherited"
    assert done.read_text() == "0 1"


def _exit_status(pid: int, *, within: float) -> int | None:
    """The child's exit code; a child still running after ``within`` seconds is killed."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None
