"""Open SQLite connections this process keeps for its next request, instead of closing them.

The server closes a request's connection when the request ends (``CONN_MAX_AGE`` is 0:
long polls, streamed bodies and deliveries run in threads that come and go, and a
connection kept by such a thread would outlive it). Opening one again was measured at
1.2 ms of CPU: Django registers its SQL functions and runs its PRAGMAs, and SQLite
reads and parses the schema (about 140 tables and indexes) before the first statement.
A one-gate email reset opened at least seven: one per step and one per inline
delivery. Closing and opening again gave nothing back: SQLite connections hold no
per-session state of ours.

So a connection Django closes goes back to a small list here, and the next
``get_new_connection`` for the same database file takes it. Only a clean one:
autocommit, outside any transaction or atomic block, no database error seen since it
was opened; anything else is really closed. Taken again only by this process (never
across a fork: SQLite forbids using a connection in a child, so a child forgets the
list it inherited, without closing what is in it) and only while the file is still
the one it was opened on (the tests delete and make databases again under one
name). That is no way to restore a backup under a running server: in WAL mode the
kept connections hold the old file's ``-wal`` and ``-shm`` open, and a new connection
would read the new file through them. Restore with the service stopped (the operators'
deployment page says so). A connection in memory is never kept (Django never closes those).
Its cursors are closed before it is kept (``DatabaseWrapper._kept``).
Each connection is used by one thread at a time: the one whose wrapper took it.
"""

import os
import sqlite3
import threading
from typing import NamedTuple

#: More than the request threads and the deliveries beside them a process runs at once.
KEEP = 16


class _Idle(NamedTuple):
    alias: str
    name: str
    file: tuple[int, int]  # st_dev, st_ino when it was kept
    connection: sqlite3.Connection


_lock = threading.Lock()
_idle: list[_Idle] = []
#: What a child inherited: referenced for good, never closed or used (see the docstring).
_inherited: list[_Idle] = []


def _file_of(name: str) -> tuple[int, int] | None:
    try:
        found = os.stat(name)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def keep(alias: str, name: str, connection: sqlite3.Connection) -> bool:
    """File a clean connection of ``alias`` to ``name`` for reuse; False: close it yourself."""
    if connection.in_transaction or (file := _file_of(name)) is None:
        return False
    with _lock:
        if len(_idle) >= KEEP:
            return False
        _idle.append(_Idle(alias, name, file, connection))
    return True


def take(alias: str, name: str) -> sqlite3.Connection | None:
    """A kept connection of ``alias`` to the file ``name`` is now, or None (open one)."""
    with _lock:
        found = [n for n, idle in enumerate(_idle) if (idle.alias, idle.name) == (alias, name)]
        if not found:
            return None
        kept = _idle.pop(found[-1])
    if kept.file != _file_of(name):  # the file was replaced since: open the new one
        kept.connection.close()
        return None
    return kept.connection


def _forget_after_fork() -> None:
    global _lock  # noqa: PLW0603  # a lock held by another thread at the fork stays held
    _lock = threading.Lock()
    _inherited.extend(_idle)
    _idle.clear()


os.register_at_fork(after_in_child=_forget_after_fork)
