"""SQL fragments whose best form depends on the database engine, for raw statements.

``one_of``: "this column is one of these values". A long ``IN (%s, %s, ...)``
list costs the client on PostgreSQL: psycopg turns the ``%s`` of every query
text it hasn't cached (long ones never are) into ``$n`` in Python, about a
millisecond per thousand values. One array parameter (``= ANY(%s)``) is a
short text, cached. The array is cast to the column's own type: psycopg sends
small integers as ``smallint[]``, and ``bigint = ANY(smallint[])`` makes the
planner test every row of the table against the list (40 times slower here).
SQLite has no arrays, so it keeps the list (it binds in C).

Only for fields of the models, never for names from input.
"""

from collections.abc import Sequence
from typing import Any

from django.db import connection


def one_of(field: Any, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """``field``'s column ``IN values``, as a fragment and its parameters (``values`` not empty).

    ``field`` is a concrete model field (``User._meta.pk``); typed ``Any``
    because django-stubs makes ``Field`` generic over its Python types.
    """
    column = connection.ops.quote_name(field.column)
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::{field.db_type(connection)}[])", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)
