"""A subject's counted uses, kept in its own row: ``{token: [rule name, microseconds]}``.

Why in the row and not one row per use: the statement that creates or locks the
subject (an upsert) then also adds this take's uses, and its ``RETURNING`` hands
back every use as last committed, under the lock. A take is one statement where it
was three (lock, count, insert), and giving a reservation back is one ``UPDATE``
that drops its token, with no read. A separate table can't do that: on PostgreSQL a
subquery in the upsert's ``RETURNING`` reads the snapshot taken before the lock was
granted, so it would miss a use committed by the take it waited for (attack A2).

A use is named by a random token so it can be taken back alone; its time is whole
microseconds since the epoch (exact, and comparable in SQL). Only quoted names of
this model and placeholders go into the SQL text here: no value does.
"""

import secrets
from collections.abc import Container, Iterable
from datetime import UTC, datetime, timedelta

from django.db import connection

from opensspr.core.sql import one_of
from opensspr.throttles.models import Subject
from opensspr.throttles.rules import RULES

Uses = dict[str, list[str | int]]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
#: A quiet-reset rule's uses stay until a quiet window clears them (``DatabaseStore.take``).
_WINDOWS = {rule.name: None if rule.quiet_reset else rule.window for rule in RULES}
#: A use of a rule this version doesn't know (renamed, removed) is old after this; so is
#: every use when the newest of a row's is (``housekeeping``).
LONGEST_WINDOW = max(rule.window for rule in RULES)


def new_token() -> str:
    """Unique within a row with overwhelming odds; a letter first keeps JSON paths simple."""
    return "u" + secrets.token_hex(8)


def stamp(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def moment(stamped: int) -> datetime:
    return _EPOCH + stamped * _MICROSECOND


def times(uses: Uses, rule: str, *, after: datetime, skip: Container[str] = ()) -> list[int]:
    """When ``rule``'s uses later than ``after`` were counted, those named in ``skip`` aside."""
    since = stamp(after)
    return [
        int(at)
        for token, (name, at) in uses.items()
        if name == rule and int(at) > since and token not in skip
    ]


def stale(uses: Uses, now: datetime) -> list[str]:
    """The tokens of uses that have left their rule's window: they count for nothing."""
    old = []
    for token, (name, at) in uses.items():
        window = _WINDOWS.get(str(name), LONGEST_WINDOW)
        if window is not None and int(at) <= stamp(now - window):
            old.append(token)
    return old


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def param_sql() -> str:
    """A placeholder for a JSON text parameter, typed as the column is."""
    return "CAST(%s AS jsonb)" if _postgres() else "%s"


def merged_sql(table: str, column: str) -> str:
    """In an upsert's ``DO UPDATE``: the stored uses with the inserted row's added."""
    if _postgres():
        return f"{table}.{column} || EXCLUDED.{column}"
    return f"json_patch({table}.{column}, excluded.{column})"


def locking_in_take_order() -> str:
    """The end of a PostgreSQL select that locks several subject rows: in the order a take
    locks them (scope, then key, byte order: Python's ``sorted`` of the pairs), so two
    statements over the same rows can't each hold the one the other waits for."""
    q = connection.ops.quote_name
    return f'ORDER BY {q("scope")} COLLATE "C", {q("key")} COLLATE "C" FOR UPDATE'


def removal(table: str, column: str, tokens: list[str], pks: Iterable[int]) -> tuple[str, list]:
    """One ``UPDATE`` that drops ``tokens`` from the rows ``pks``; a missing token is no error.

    It takes each row's lock itself, so it needs no read first. On PostgreSQL the rows
    are locked in the order a take locks them (scope, then key, byte order: Python's
    ``sorted``), so a give-back and a take over the same rows can't deadlock; SQLite has
    one writer and no row locks.
    """
    q = connection.ops.quote_name
    listed, ids = one_of(Subject._meta.pk, sorted(set(pks)))
    if _postgres():
        ordered = f"SELECT {q('id')} FROM {table} WHERE {listed} {locking_in_take_order()}"  # noqa: S608 - names only
        sql = (
            f"UPDATE {table} SET {column} = {table}.{column} - %s::text[] "  # noqa: S608
            f"FROM ({ordered}) AS locked WHERE {table}.{q('id')} = locked.{q('id')}"
        )
        return sql, [tokens, *ids]  # ids: one array parameter (``one_of``)
    where = f"WHERE {listed}"
    paths = ", ".join(["%s"] * len(tokens))
    params = [f'$."{token}"' for token in tokens]
    sql = f"UPDATE {table} SET {column} = json_remove({column}, {paths}) {where}"  # noqa: S608
    return sql, [*params, *ids]


def newest_after_sql(column: str) -> str:
    """A condition: some use in ``column`` is later than the parameter (a stamp)."""
    if _postgres():
        return (
            f"EXISTS (SELECT 1 FROM jsonb_each({column}) AS u "  # noqa: S608 - a column name
            "WHERE (u.value->>1)::bigint > %s)"
        )
    return (
        f"EXISTS (SELECT 1 FROM json_each({column}) AS u "  # noqa: S608 - a column name
        "WHERE json_extract(u.value, '$[1]') > %s)"
    )
