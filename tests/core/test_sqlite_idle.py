"""The embedded engine keeps a clean SQLite connection for the next request (core/sqlite/idle.py)."""

from pathlib import Path

import pytest
from django.db.utils import ConnectionHandler

from opensspr.core.sqlite import idle
from opensspr.core.sqlite.base import DatabaseWrapper


def test_closed_connection_is_reused_when_clean(database: DatabaseWrapper) -> None:
    database.ensure_connection()
    first = database.connection
    database.close()

    database.ensure_connection()

    assert database.connection is first
    with database.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_connection_is_closed_when_closed_inside_a_transaction(database: DatabaseWrapper) -> None:
    with database.cursor() as cursor:
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute("CREATE TABLE t (n INTEGER)")
    first = database.connection
    database.close()

    database.ensure_connection()

    assert database.connection is not first
    with database.cursor() as cursor:  # the transaction was rolled back, not carried on
        cursor.execute("SELECT name FROM sqlite_master")
        assert cursor.fetchall() == []


def test_connection_is_closed_when_not_in_autocommit(database: DatabaseWrapper) -> None:
    database.ensure_connection()
    first = database.connection
    database.set_autocommit(False)
    database.close()

    database.ensure_connection()

    assert database.connection is not first
    assert database.get_autocommit()


def test_connection_is_closed_when_a_database_error_was_seen(database: DatabaseWrapper) -> None:
    database.ensure_connection()
    first = database.connection
    with pytest.raises(Exception, match="no such table"), database.cursor() as cursor:
        cursor.execute("SELECT * FROM missing")
    database.close()

    database.ensure_connection()

    assert database.connection is not first


def test_replaced_file_is_opened_afresh(database: DatabaseWrapper, tmp_path: Path) -> None:
    with database.cursor() as cursor:
        cursor.execute("CREATE TABLE old (n INTEGER)")
    database.close()
    for path in tmp_path.glob("db*"):
        path.unlink()

    with database.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master")
        assert cursor.fetchall() == []


def test_child_process_forgets_inherited_connections(database: DatabaseWrapper) -> None:
    database.ensure_connection()
    database.close()

    idle._forget_after_fork()  # what os.register_at_fork runs in a child

    assert idle.take("default", str(database.settings_dict["NAME"])) is None
    idle._idle.extend(idle._inherited)  # give the parent's list back for the fixture
    idle._inherited.clear()


def test_a_read_left_half_done_does_not_follow_its_connection(
    database: DatabaseWrapper, tmp_path: Path
) -> None:
    """A cursor a request never finished holds a read snapshot: closed before the reuse."""
    with database.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("CREATE TABLE t (n INTEGER)")
        cursor.executemany("INSERT INTO t VALUES (%s)", [(n,) for n in range(500)])
    leaked = database.cursor()  # an unfinished .iterator(), say, kept alive by a cycle
    leaked.execute("SELECT n FROM t")
    assert len(leaked.fetchmany(5)) == 5
    first = database.connection
    database.close()
    other = ConnectionHandler(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "db")}}
    )["default"]
    with other.cursor() as cursor:  # another process writes meanwhile
        cursor.execute("INSERT INTO t VALUES (-1)")
    other.close()

    database.ensure_connection()

    assert database.connection is first
    with database.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM t")
        assert cursor.fetchone() == (501,)
        cursor.execute("INSERT INTO t VALUES (-2)")  # not "database is locked"
