"""Hot selects and updates compiled once per database, then run with each call's values.

Every step of a reset reads its flow with the person and their stored facts: a
select of about fifty columns, a join and four subqueries. Building that queryset
and compiling it to SQL cost about three times what SQLite takes to run it
(``docs/contributors/performance.md``), and both gave the same text every time:
only the handle's digest changes. A ``PreparedSelect`` builds its queryset once
per database with marker values in place of the caller's, compiles it, finds the
markers among the statement's parameters, and from then on runs the same text
with the call's values adapted the way the field adapts them, turning the row
into instances as the ORM's own model iterator does (the person joined by
``select_related``, the annotations as attributes).

Compiling twice with two sets of markers proves the text does not depend on the
values; a queryset the markers don't appear in as they should is refused at its first
use, not answered wrongly. A ``None`` value is refused at every call (the ORM would
have written ``IS NULL``, the plan has ``= %s``). Only what ``ModelIterable`` does for
a plain queryset is supported: no ``values()``, no known related objects, no peers,
no ``prefetch_related``, no ``select_for_update``; parameters on text, date-time
and integer key fields. What ``build`` reads itself (the clock, a setting) is frozen into the plan:
pass it as a parameter.

``update_where`` does the same for the conditional updates every step makes (the
flow's move to its next state): the ``UPDATE`` text is made once per set of columns;
``insert`` for the audit events: the ``INSERT`` text once per number of rows.
"""

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.query import (  # type: ignore[attr-defined]  # ModelIterable's helpers
    ModelIterable,
    _get_from_db,
    get_related_populators,
)

#: Field types a ``Param`` has markers for.
_PARAM_TYPES = frozenset(
    {"CharField", "TextField", "DateTimeField", "BigAutoField", "BigIntegerField"}
)
#: 64-bit only: the marker is below any key a database hands out, and out of a 32-bit
#: field's range (the ORM would turn such a lookup into "no rows" as it compiles).
_INTEGER_TYPES = frozenset({"BigAutoField", "BigIntegerField"})


@dataclass(frozen=True)
class Param:
    """A value given at each call, for a lookup on ``field`` (a model field)."""

    field: Any  # django-stubs makes ``Field`` generic over its Python types

    def marker(self, position: int, variant: int) -> object:
        """A value no caller passes, unique to this parameter and this compilation."""
        kind = self.field.get_internal_type()
        if kind == "DateTimeField":
            return datetime(1901 + variant, 1, 1, 0, 0, position, 1 + position, tzinfo=UTC)
        if kind in _INTEGER_TYPES:  # below any key a database hands out
            return -(7 << 40) - 1000 * variant - position
        return f"\x00prepared-{variant}-{position}\x00"

    def adapt(self, value: object, connection: BaseDatabaseWrapper) -> object:
        return self.field.get_db_prep_value(value, connection, prepared=False)


@dataclass(frozen=True)
class _Plan:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, ...], ...]  # for each ``Param``, where it stands in ``params``
    #: ``SQLCompiler.get_converters``' answer, as ``results_iter`` would compute it per
    #: call: what the alias's backend and the fields convert, called with a connection.
    converters: tuple[tuple[int, tuple[list[Any], Any]], ...]
    annotations: tuple[tuple[str, int], ...]  # the annotations' names and positions
    start: int
    end: int
    init_list: tuple[str, ...]
    from_db: Callable[..., Model]
    related: tuple[Any, ...]  # ``RelatedPopulator``s: no state of their own per row
    #: The select's columns for a ``RETURNING`` clause, where they are the model's own.
    returning: str | None


class PreparedSelect[M: Model]:
    """``build(*values)``'s first row, compiled once per database (see the module)."""

    def __init__(self, build: Callable[..., QuerySet[M]], *params: Param) -> None:
        for param in params:
            if param.field.get_internal_type() not in _PARAM_TYPES:
                raise TypeError(f"no marker for a {param.field.get_internal_type()} parameter")
        self.build = build
        self.params = params
        self._plans: dict[tuple[str, str], _Plan] = {}
        self._lock = threading.Lock()

    def first(self, *values: object, using: str = DEFAULT_DB_ALIAS) -> M | None:
        if any(value is None for value in values):
            raise ValueError("a prepared select compares with =: None would need IS NULL")
        connection = connections[using]
        plan = self._plans.get((using, connection.vendor)) or self._prepare(connection)
        params = list(plan.params)
        for param, value, slots in zip(self.params, values, plan.slots, strict=True):
            adapted = param.adapt(value, connection)
            for slot in slots:
                params[slot] = adapted
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            row = cursor.fetchone()
        return None if row is None else self._instance(plan, row, connection)

    def returned(
        self, statement: str, params: Sequence[Any], *, using: str = DEFAULT_DB_ALIAS
    ) -> M | None:
        """Run ``statement`` (an ``UPDATE`` of one row of this select's model, by its key,
        without its ``RETURNING``) and turn the row it changed into an instance, as ``first``
        would have read it after: a claim and the read of what was claimed in one round trip.

        For a select of the model's own table and columns only (no join, no annotation, no
        parent model's table). Inside a transaction on SQLite, for the ``RETURNING`` reason
        ``insert`` gives. A statement that changed more than one row is an error (rolled
        back with the caller's transaction, if there is one).
        """
        connection = connections[using]
        if connection.vendor != "postgresql" and not connection.in_atomic_block:
            raise ValueError("returned() runs inside a transaction on SQLite")
        plan = self._plans.get((using, connection.vendor)) or self._prepare(connection)
        if plan.returning is None:
            raise TypeError("returned() reads selects of the model's own table and columns only")
        with transaction.mark_for_rollback_on_error(), connection.cursor() as cursor:
            cursor.execute(f"{statement} RETURNING {plan.returning}", params)
            rows = cursor.fetchall()
            if len(rows) > 1:
                raise ValueError(f"returned() changed {len(rows)} rows where one was meant")
        return self._instance(plan, rows[0], connection) if rows else None

    def _instance(self, plan: _Plan, row: Sequence[Any], connection: BaseDatabaseWrapper) -> M:
        using = connection.alias
        converted = list(row)
        for position, (converters, expression) in plan.converters:
            value = converted[position]
            for converter in converters:  # called with this thread's connection
                value = converter(value, expression, connection)
            converted[position] = value
        found = plan.from_db(using, list(plan.init_list), converted[plan.start : plan.end])
        for populator in plan.related:
            populator.populate(converted, found)
        for name, position in plan.annotations:
            setattr(found, name, converted[position])
        return found  # type: ignore[return-value]  # from_db of the queryset's model

    def _compiled(
        self, connection: BaseDatabaseWrapper, variant: int
    ) -> tuple[str, tuple[Any, ...], Any, Any, list[object]]:
        markers = [param.marker(n, variant) for n, param in enumerate(self.params)]
        queryset = self.build(*markers)
        if (
            queryset._iterable_class is not ModelIterable
            or queryset._known_related_objects  # type: ignore[attr-defined]
            or queryset._fetch_mode.track_peers  # type: ignore[attr-defined]
            or queryset._prefetch_related_lookups  # type: ignore[attr-defined]
            or queryset.query.select_for_update
        ):
            raise TypeError("PreparedSelect runs plain querysets of model instances only")
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        pairs = zip(self.params, markers, strict=True)
        adapted = [param.adapt(marker, connection) for param, marker in pairs]
        return sql, tuple(params), compiler, queryset, adapted

    def _prepare(self, connection: BaseDatabaseWrapper) -> _Plan:
        sql, params, compiler, queryset, adapted = self._compiled(connection, 0)
        again, params_again, *_ = self._compiled(connection, 1)
        slots = tuple(
            tuple(n for n, value in enumerate(params) if value == marker) for marker in adapted
        )
        others = [n for n in range(len(params)) if not any(n in s for s in slots)]
        if (
            again != sql
            or not all(slots)
            or any(params[n] != params_again[n] for n in others)
            or len(params) != len(params_again)
        ):
            raise ValueError(f"the values change more than this select's parameters: {sql}")
        klass_info, select = compiler.klass_info, compiler.select
        columns = [column for column, *_ in select[: compiler.col_count]]
        if compiler.has_composite_fields(columns):
            raise TypeError("PreparedSelect reads no composite primary keys")
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        fetch_mode = queryset._fetch_mode
        related = tuple(get_related_populators(klass_info, select, connection.alias, fetch_mode))
        table = klass_info["model"]._meta.db_table
        own = (
            not related
            and not compiler.annotation_col_map
            and (start, end) == (0, len(columns))
            and all(getattr(column, "alias", None) == table for column in columns)
        )
        q = connection.ops.quote_name
        plan = _Plan(
            sql=sql,
            params=params,
            slots=slots,
            converters=tuple(compiler.get_converters(columns).items()),
            annotations=tuple((compiler.annotation_col_map or {}).items()),
            start=start,
            end=end,
            init_list=tuple(f[0].target.attname for f in select[start:end]),
            from_db=_get_from_db(klass_info["model"], fetch_mode),
            related=related,
            returning=", ".join(q(column.target.column) for column in columns) if own else None,
        )
        with self._lock:
            self._plans[(connection.alias, connection.vendor)] = plan
        return plan


@cache
def _concrete_fields(model: type[Model]) -> dict[str, Any]:
    """The model's concrete fields by name, and its primary key as ``pk`` too."""
    fields: dict[str, Any] = {field.name: field for field in model._meta.concrete_fields}
    fields["pk"] = model._meta.pk
    return fields


#: The lookups ``update_where`` understands, as SQL; ``isnull`` takes no parameter.
_LOOKUPS = {"exact": "= %s", "lt": "< %s", "lte": "<= %s", "gt": "> %s", "gte": ">= %s"}


def _lookup(key: str) -> tuple[str, str]:
    """``tries__lt`` → (``tries``, ``lt``); a plain name is ``exact``."""
    name, _, lookup = key.partition("__")
    return name, lookup or "exact"


@cache
def _update_sql(
    model: type[Model],
    vendor: str,
    filters: tuple[tuple[str, bool | None], ...],
    values: tuple[str, ...],
    counted: tuple[str, ...],
) -> str:
    """``UPDATE table SET a = %s, ..., counted = counted + 1 WHERE f = %s AND g IS NULL ...``.

    ``filters``: each key with, for ``isnull``, its wanted truth (in the text, not a
    parameter), for the other lookups ``None``."""
    q = connections[DEFAULT_DB_ALIAS].ops.quote_name
    fields = _concrete_fields(model)
    sets = [f"{q(fields[name].column)} = %s" for name in values]
    sets += [f"{q(fields[name].column)} = {q(fields[name].column)} + 1" for name in counted]
    conditions = []
    for key, null in filters:
        name, lookup = _lookup(key)
        column = q(fields[name].column)
        if lookup == "isnull":
            conditions.append(f"{column} IS NULL" if null else f"{column} IS NOT NULL")
        else:
            conditions.append(f"{column} {_LOOKUPS[lookup]}")
    where = " AND ".join(conditions)
    return f"UPDATE {q(model._meta.db_table)} SET {', '.join(sets)} WHERE {where}"  # noqa: S608  # quoted names of the model's own columns


def update_where(
    model: type[Model],
    filters: dict[str, object],
    values: dict[str, object],
    *,
    counted: str | tuple[str, ...] = (),
) -> int:
    """``model.objects.filter(**filters).update(**values, counted=F(counted) + 1)``, the rows
    changed, with the SQL made once per set of columns and lookups (the hot conditional
    updates: a flow's move, a code's try reserved, a challenge ended).

    Filters on concrete fields only: equality, ``__lt``, ``__lte``, ``__gt``, ``__gte``,
    and ``__isnull`` with ``True`` or ``False``; never a ``None`` value otherwise (the ORM
    would write ``IS NULL``). Each value adapted as the field adapts it for a save, as
    ``update`` does; each column named in ``counted`` goes up by one.
    """
    shape: list[tuple[str, bool | None]] = []
    compared: list[tuple[str, object]] = []
    for key, value in filters.items():
        name, lookup = _lookup(key)
        if lookup == "isnull":
            if not isinstance(value, bool):
                raise ValueError(f"update_where: {key} takes True or False")
            shape.append((key, value))
        elif lookup not in _LOOKUPS:
            raise ValueError(f"update_where does not know the lookup {lookup!r}")
        elif value is None:
            raise ValueError("update_where compares with values only: None would need IS NULL")
        else:
            shape.append((key, None))
            compared.append((name, value))
    connection = connections[DEFAULT_DB_ALIAS]
    counts = (counted,) if isinstance(counted, str) else counted
    sql = _update_sql(model, connection.vendor, tuple(shape), tuple(values), counts)
    fields = _concrete_fields(model)
    params = [fields[name].get_db_prep_save(value, connection) for name, value in values.items()]
    params += [
        fields[name].get_db_prep_value(value, connection, prepared=False)
        for name, value in compared
    ]
    with transaction.mark_for_rollback_on_error(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


@cache
def _insert_fields(model: type[Model]) -> tuple[Any, ...]:
    """The columns an insert writes: every concrete field but the generated primary key."""
    fields = tuple(f for f in model._meta.local_concrete_fields if f is not model._meta.auto_field)
    for field in fields:
        if hasattr(field, "get_placeholder") or field.generated or field.has_db_default():
            raise TypeError(f"insert() writes plain columns only, not {field.name}")
    return fields


def insert(rows: Sequence[Model]) -> None:
    """``bulk_create(rows)`` of one model in one statement, the ``INSERT`` made once per
    number of rows; each row gets its primary key, as a save gives it (the audit events).

    On SQLite several rows come back with their keys only inside a transaction: the
    embedded engine's writer lock covers a statement outside one only until it returns,
    and ``RETURNING`` keeps SQLite's write open until its rows are read. Outside one,
    each row is its own statement.
    """
    if not rows:
        return
    model = type(rows[0])
    connection = connections[DEFAULT_DB_ALIAS]
    fields = _insert_fields(model)
    values = [
        [field.get_db_prep_save(field.pre_save(row, True), connection) for field in fields]
        for row in rows
    ]
    returning = connection.vendor == "postgresql" or connection.in_atomic_block
    batches = [values] if returning or len(rows) == 1 else [[one] for one in values]
    keys: list[Any] = []
    with transaction.mark_for_rollback_on_error(), connection.cursor() as cursor:
        for batch in batches:
            cursor.execute(
                _insert_sql(model, connection.vendor, len(batch), returning),
                [value for one in batch for value in one],
            )
            keys += [key for (key,) in cursor.fetchall()] if returning else [cursor.lastrowid]
    for row, key in zip(rows, keys, strict=True):
        row.pk = key
        row._state.adding, row._state.db = False, connection.alias


def insert_unless_taken(row: Model) -> bool:
    """Insert ``row`` as ``insert`` does, unless a unique value of it is already taken: then
    nothing is written and False comes back (``ON CONFLICT DO NOTHING``).

    Where the ORM needs a savepoint to survive the ``IntegrityError`` (two more round
    trips on PostgreSQL: a notification queued under a key that may repeat). Inside a
    transaction on SQLite only, for the ``RETURNING`` reason ``insert`` gives.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql" and not connection.in_atomic_block:
        raise ValueError("insert_unless_taken runs inside a transaction on SQLite")
    model = type(row)
    fields = _insert_fields(model)
    values = [field.get_db_prep_save(field.pre_save(row, True), connection) for field in fields]
    with transaction.mark_for_rollback_on_error(), connection.cursor() as cursor:
        cursor.execute(_insert_sql(model, connection.vendor, 1, True, skip_conflicts=True), values)
        found = cursor.fetchall()
    if not found:
        return False
    row.pk = found[0][0]
    row._state.adding, row._state.db = False, connection.alias
    return True


@cache
def _insert_sql(
    model: type[Model], vendor: str, count: int, returning: bool, *, skip_conflicts: bool = False
) -> str:
    q = connections[DEFAULT_DB_ALIAS].ops.quote_name
    fields = _insert_fields(model)
    one = f"({', '.join(['%s'] * len(fields))})"
    sql = (
        f"INSERT INTO {q(model._meta.db_table)} ({', '.join(q(f.column) for f in fields)}) "  # noqa: S608  # quoted names of the model's own columns
        f"VALUES {', '.join([one] * count)}"
    )
    if skip_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    return f"{sql} RETURNING {q(_concrete_fields(model)['pk'].column)}" if returning else sql
