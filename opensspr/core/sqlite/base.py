"""Django's SQLite backend, with the writers of one process queued on a lock of their own.

SQLite lets one writer in at a time. A writer that finds the database locked
waits in SQLite's busy handler, which polls: it sleeps 1, 2, 5, 10... up to 100 ms
between looks, however soon the lock came free. Under a burst (the demo's 8
threads, the inline deliveries beside them) most of a step's time went into those
sleeps while the lock stood free: sampling the demo during the HTTP reset storm
found nine tenths of the request threads' time waiting in ``execute``.

So every write transaction of this process (``BEGIN IMMEDIATE`` to its commit or
rollback) and every write statement outside one first takes a process-wide
``threading.Lock``: the writers of one process queue on it and each goes in the
moment the previous one ends. Writers in other processes (a command, a second
server) still meet SQLite's own lock and its busy timeout, as before. Nothing
about what a transaction sees or writes changes: it is the same ``IMMEDIATE``
transaction, begun a little later.
"""

import sqlite3
import threading
import weakref
from functools import cached_property, lru_cache
from typing import Any

from django.db import OperationalError
from django.db.backends.sqlite3 import base
from django.utils.asyncio import async_unsafe

from opensspr.core.sqlite import idle

_WRITER = threading.Lock()
_READS = ("SELECT", "PRAGMA", "EXPLAIN", "WITH")  # a WITH ... SELECT; never one that writes here


#: Texts up to this long are remembered converted: the hot statements are short, and a
#: bulk insert's (thousands of placeholders) would hold memory for nothing.
_REMEMBERED_TEXT = 4096


def _convert(query: str) -> str:
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


_remembered = lru_cache(maxsize=512)(_convert)


def _qmark(query: str) -> str:
    """Django's "format" to sqlite3's "qmark" placeholders, once per text: Django runs a
    regular expression over every statement, and the hot ones are the same text each
    time (``core/prepared.py``)."""
    return _remembered(query) if len(query) <= _REMEMBERED_TEXT else _convert(query)


def _acquire(timeout: float) -> None:
    if not _WRITER.acquire(timeout=timeout):
        raise OperationalError("database is locked")


class CursorWrapper(base.SQLiteCursorWrapper):
    db: "DatabaseWrapper"

    def convert_query(self, query: str, *, param_names: Any = None) -> str:
        if param_names is None:
            return _qmark(query)
        return str(super().convert_query(query, param_names=param_names))

    def execute(self, query: str, params: Any = None) -> Any:
        if not self.db.writes_alone(query):
            return super().execute(query, params)
        with self.db.writer():
            return super().execute(query, params)

    def executemany(self, query: str, param_list: Any) -> Any:
        if not self.db.writes_alone(query):
            return super().executemany(query, param_list)
        with self.db.writer():
            return super().executemany(query, param_list)


class _Held:
    def __init__(self, db: "DatabaseWrapper") -> None:
        self.db = db

    def __enter__(self) -> None:
        _acquire(self.db.lock_timeout)

    def __exit__(self, *exc: object) -> None:
        _WRITER.release()


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_writer = False

    @property
    def lock_timeout(self) -> float:
        return float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))

    def writer(self) -> _Held:
        return _Held(self)

    def writes_alone(self, query: str) -> bool:
        """A statement that may write, outside a transaction of ours: it takes the lock."""
        if self._holds_writer or not self.get_autocommit():
            return False
        return not query.lstrip()[:8].upper().startswith(_READS)

    def create_cursor(self, name: str | None = None) -> CursorWrapper:
        cursor = self.connection.cursor(factory=CursorWrapper)
        cursor.db = self
        self._cursors.add(cursor)
        return cursor

    @cached_property
    def _cursors(self) -> "weakref.WeakSet[CursorWrapper]":
        """This wrapper's cursors still alive: closed before their connection is kept."""
        return weakref.WeakSet()

    def _start_transaction_under_autocommit(self) -> None:
        _acquire(self.lock_timeout)
        self._holds_writer = True
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # private in the stubs
        except BaseException:
            self._release_writer()
            raise

    def _release_writer(self) -> None:
        if self._holds_writer:
            self._holds_writer = False
            _WRITER.release()

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]  # private in the stubs
        finally:
            self._release_writer()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]  # private in the stubs
        finally:
            self._release_writer()

    @async_unsafe
    def get_new_connection(self, conn_params: Any) -> sqlite3.Connection:
        """A connection this process kept (``idle.py`` says why and which), else a new one."""
        kept = idle.take(self.alias, str(self.settings_dict["NAME"]))
        return kept if kept is not None else super().get_new_connection(conn_params)

    def _close(self) -> None:
        try:
            if not self._kept():
                super()._close()  # type: ignore[misc]  # private in the stubs
        finally:
            self._release_writer()

    def _kept(self) -> bool:
        """Filed for reuse instead of closed: only a clean connection to a file.

        Its cursors are closed first, as closing the connection would have: a
        statement left half-read (an unfinished ``.iterator()``) holds a read
        snapshot, so the next request would read old rows and fail to write.
        """
        for cursor in list(self._cursors):
            cursor.close()
        self._cursors.clear()
        return (
            self.connection is not None
            and not self.is_in_memory_db()
            and not self.in_atomic_block
            and self.autocommit
            and not self.errors_occurred
            and idle.keep(self.alias, str(self.settings_dict["NAME"]), self.connection)
        )
