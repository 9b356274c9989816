"""The database store: every operation in one transaction holding the subject's row lock.

``select_for_update`` serialises the requests of one subject on PostgreSQL;
SQLite runs one writer at a time anyway (``transaction_mode: IMMEDIATE``). Called
inside a caller's transaction, the count commits or rolls back with it: a
penalty that must stick even when the step then fails is taken outside.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.db import connection, transaction
from django.db.models.functions import Collate

from opensspr.throttles import uses
from opensspr.throttles.base import Block, Reservation, Verdict
from opensspr.throttles.models import Subject
from opensspr.throttles.rules import Pauses, Rule, Scope
from opensspr.throttles.uses import Uses

#: Up to this many subjects, blocks are looked up by key; beyond, matched in memory.
_LOOKUP_BY_KEY = 500
#: A row is rewritten without its old uses once this many have left their window (a row
#: written anyway drops them at once): rows stay small without a write at every take.
_DROP_OLD_AFTER = 8
_WRITTEN = ["uses", "recent", "blocked_until", "blocked_by", "level"]


@cache
def _forget_sql(vendor: str, sizes: tuple[int, ...]) -> str:
    """``DELETE`` of the subjects of some scopes, ``sizes`` keys in each: the queryset's
    ``delete()`` (a fast delete, no signals or relations) built its ``Q`` and compiled
    it at every successful reset. Made once per database and shape.

    On PostgreSQL the rows are locked first in the order a take locks them: a plain
    ``DELETE`` locked them in the order it found them (the table's, across two scopes),
    so a reset's end and a take over two of the same rows (sign-in attempts for that
    person, say) could each hold the row the other waited for: a deadlock, and one of
    them failed."""
    q = connection.ops.quote_name
    table = q(Subject._meta.db_table)
    each = [f"({q('scope')} = %s AND {q('key')} IN ({', '.join(['%s'] * size)}))" for size in sizes]
    where = " OR ".join(each)
    if vendor != "postgresql":  # one writer at a time, no row locks
        return f"DELETE FROM {table} WHERE {where}"  # noqa: S608  # quoted names only
    locked = f"SELECT {q('id')} FROM {table} WHERE {where} {uses.locking_in_take_order()}"  # noqa: S608  # quoted names only
    return (
        f"DELETE FROM {table} USING ({locked}) AS locked WHERE {table}.{q('id')} = locked.{q('id')}"  # noqa: S608  # quoted names only
    )


def _upsert_sql(rows: int) -> str:
    """An insert that, on an existing row, adds the new uses to it instead: either way each
    row comes back locked (PostgreSQL locks the rows an ``ON CONFLICT DO UPDATE`` updates;
    SQLite holds the one write lock) and whole, with every use as last committed, by
    ``RETURNING``. Both support it (SQLite since 3.35)."""
    q = connection.ops.quote_name
    table = q(Subject._meta.db_table)
    columns = ", ".join(q(str(f.column)) for f in Subject._meta.concrete_fields)
    values = ", ".join([f"(%s, %s, NULL, '', 0, NULL, '[]', {uses.param_sql()})"] * rows)
    scope, key, used = q("scope"), q("key"), q("uses")
    # Only quoted names of this model and placeholders go into the text: no value does.
    return (
        f"INSERT INTO {table} ({scope}, {key}, {q('blocked_until')}, {q('blocked_by')}, "  # noqa: S608
        f"{q('level')}, {q('last_use_at')}, {q('recent')}, {used}) VALUES {values} "
        f"ON CONFLICT ({scope}, {key}) DO UPDATE SET {used} = {uses.merged_sql(table, used)} "
        f"RETURNING {columns}"
    )


def _locked_rows(added: dict[tuple[str, str], Uses]) -> dict[tuple[str, str], Subject]:
    """The subjects' rows, created if missing, with ``added``'s uses in them, locked: one
    statement.

    Locked in one order (sorted), so two batches over the same subjects can't deadlock.
    """
    ordered = sorted(added)
    params = [part for subject in ordered for part in (*subject, json.dumps(added[subject]))]
    rows = Subject.objects.raw(_upsert_sql(len(ordered)), params)
    return {(row.scope, row.key): row for row in rows}


def _locked(scope: Scope, digest: str) -> Subject:
    """The subject's row, created if missing, locked: one statement whether it existed or not."""
    return _locked_rows({(scope, digest): {}})[(scope, digest)]


def _active_block(row: Subject, now: datetime) -> datetime | None:
    return row.blocked_until if row.blocked_until and row.blocked_until > now else None


def _penalise(rule: Rule, row: Subject, now: datetime) -> datetime:
    row.level += 1
    duration = rule.penalty_for(row.level)
    assert duration is not None  # only rules with a penalty get here
    row.blocked_until, row.blocked_by = now + duration, rule.name
    return row.blocked_until


def _penalty_on_reserve(
    rule: Rule, row: Subject, now: datetime, used: int, oldest: datetime | None
) -> datetime | None:
    """The penalty the ``used``-th reserved failure in the window sets, if any (set on ``row``).

    ``oldest``: the earliest failure still in the window (``now`` when this is the first).
    """
    if isinstance(rule.penalty, Pauses):
        if rule.final(used):
            until = (oldest or now) + rule.window
        elif pause := rule.penalty.pause_at(used):
            until = now + pause
        else:
            return None
        row.blocked_until, row.blocked_by = until, rule.name
        return until
    if rule.penalty is not None and rule.final(used):
        return _penalise(rule, row, now)
    return None


def _save(row: Subject, now: datetime) -> None:
    """Write back what a take changed in a locked row, and drop the uses that left their window."""
    for token in uses.stale(row.uses, now):
        del row.uses[token]
    row.save(update_fields=[*_WRITTEN, "last_use_at"])


@dataclass
class _Taken:
    rule: Rule
    row: Subject
    token: str
    used: int
    penalised: bool
    until: datetime | None


class DatabaseStore:
    def take_many(
        self, takes: Sequence[tuple[Rule, str]], now: datetime, *, reserve: bool
    ) -> list[Reservation]:
        """``take`` for each (rule, digest) in order, stopping at the first refusal (returned
        last). One statement adds every use while it locks the subjects; a refusal, a penalty
        or old uses to drop cost one ``UPDATE`` per row they touch.

        Rules with a quiet reset keep their own path (``take``), one by one.
        """
        return self.take_many_peeking(takes, (), now, reserve=reserve)[0]

    def take_many_peeking(
        self,
        takes: Sequence[tuple[Rule, str]],
        peeks: Sequence[tuple[Rule, str]],
        now: datetime,
        *,
        reserve: bool,
    ) -> tuple[list[Reservation], list[datetime | None]]:
        """``take_many``, and the active penalty of each (rule, digest) in ``peeks``, read by
        the statement that locks the taken subjects (``blocked_until`` without a statement of
        its own). A peeked subject's row is created if missing, like a taken one's."""
        if any(rule.quiet_reset for rule, _digest in takes):  # their own path, in ``take``
            done = self._one_by_one(takes, now, reserve=reserve)
            return done, [self.blocked_until(rule, digest, now) for rule, digest in peeks]
        added: dict[tuple[str, str], Uses] = {(rule.scope, d): {} for rule, d in peeks}
        planned: list[tuple[Rule, tuple[str, str], str]] = []
        for rule, digest in takes:
            token, where = uses.new_token(), (rule.scope, digest)
            added.setdefault(where, {})[token] = [rule.name, uses.stamp(now)]
            planned.append((rule, where, token))
        with transaction.atomic(savepoint=False):
            rows = _locked_rows(added)
            done = self._decide(planned, rows, now, reserve=reserve)
        blocks = [_active_block(rows[(rule.scope, digest)], now) for rule, digest in peeks]
        return done, blocks

    def _decide(
        self,
        planned: Sequence[tuple[Rule, tuple[str, str], str]],
        rows: dict[tuple[str, str], Subject],
        now: datetime,
        *,
        reserve: bool,
    ) -> list[Reservation]:
        """Count each planned use against the uses stored before this batch, in order; take
        back the refused one and those after it, in the rows still locked."""
        ours = {token for _rule, _where, token in planned}
        taken: list[_Taken] = []
        refused: Reservation | None = None
        changed: dict[int, Subject] = {}
        for index, (rule, where, token) in enumerate(planned):
            row = rows[where]
            inside = uses.times(row.uses, rule.name, after=now - rule.window, skip=ours)
            count = len(inside) + sum(t.rule.name == rule.name and t.row is row for t in taken)
            if until := _active_block(row, now):
                refused = Reservation(rule, row.key, Verdict(False, until))
            elif count >= rule.max_uses() and not (reserve and rule.penalty):
                refused = self._refuse(rule, row, now, inside)
            if refused is not None:
                for _rule, later, later_token in planned[index:]:
                    rows[later].uses.pop(later_token, None)
                    changed[rows[later].pk] = rows[later]
                changed[row.pk] = row
                break
            oldest = uses.moment(min(inside)) if inside else None
            until = _penalty_on_reserve(rule, row, now, count + 1, oldest) if reserve else None
            if until is not None:
                changed[row.pk] = row
            taken.append(_Taken(rule, row, token, count + 1, until is not None, until))
        for row in rows.values():
            if row.pk in changed or len(uses.stale(row.uses, now)) >= _DROP_OLD_AFTER:
                _save(row, now)
        done = [
            Reservation(
                t.rule,
                t.row.key,
                Verdict(True, t.until, newly_blocked=t.penalised, used=t.used),
                f"{t.row.pk}:{t.token}",
                t.penalised,
            )
            for t in taken
        ]
        return [*done, refused] if refused else done

    def _one_by_one(
        self, takes: Sequence[tuple[Rule, str]], now: datetime, *, reserve: bool
    ) -> list[Reservation]:
        done = []
        with transaction.atomic(savepoint=False):
            for rule, digest in takes:
                done.append(self.take(rule, digest, now, reserve=reserve, fingerprint=""))
                if not done[-1].allowed:
                    break
        return done

    def take(
        self, rule: Rule, digest: str, now: datetime, *, reserve: bool, fingerprint: str
    ) -> Reservation:
        if not rule.quiet_reset and not fingerprint:  # the common case: a batch of one
            return self.take_many([(rule, digest)], now, reserve=reserve)[0]
        # No savepoint inside a caller's transaction: nothing here catches an error.
        with transaction.atomic(savepoint=False):
            row = _locked(rule.scope, digest)
            if until := _active_block(row, now):
                return Reservation(rule, digest, Verdict(False, until))
            mine = [t for t, (name, _at) in row.uses.items() if name == rule.name]
            quiet = row.last_use_at is not None and now - row.last_use_at > rule.window
            if rule.quiet_reset and quiet:  # a quiet window: the count starts afresh
                for token in mine:
                    del row.uses[token]
                row.level, row.recent = 0, []
            after = now - rule.window if not rule.quiet_reset else uses.moment(0)
            inside = uses.times(row.uses, rule.name, after=after)
            if rule.quiet_reset:
                row.last_use_at = now
            if fingerprint and fingerprint in row.recent:
                _save(row, now)
                return Reservation(rule, digest, Verdict(True))
            if len(inside) >= rule.max_uses() and not (reserve and rule.penalty):
                refused = self._refuse(rule, row, now, inside)
                _save(row, now)
                return refused
            token = uses.new_token()
            row.uses[token] = [rule.name, uses.stamp(now)]
            if fingerprint:
                row.recent = [*row.recent, fingerprint][-rule.distinct :]
            oldest = uses.moment(min([*inside, uses.stamp(now)]))
            used = len(inside) + 1
            until = _penalty_on_reserve(rule, row, now, used, oldest) if reserve else None
            penalised = until is not None
            _save(row, now)
            verdict = Verdict(True, until, newly_blocked=penalised, used=used)
            return Reservation(rule, digest, verdict, f"{row.pk}:{token}", penalised, fingerprint)

    def _refuse(self, rule: Rule, row: Subject, now: datetime, inside: list[int]) -> Reservation:
        """A use over the limit: "not before the window frees", or the rule's penalty (set on
        ``row``, which the caller writes)."""
        if rule.penalty is None:
            frees = uses.moment(min(inside)) + rule.window if inside else None
            return Reservation(rule, row.key, Verdict(False, frees))
        until = _penalise(rule, row, now)
        return Reservation(rule, row.key, Verdict(False, until, newly_blocked=True))

    def give_back_many(self, reservations: Sequence[Reservation]) -> None:
        """Plain reservations go in one ``UPDATE``. With a penalised or remembered one among
        them, each goes its own way, in the order takes lock rows (no deadlock with one)."""
        given = sorted((r for r in reservations if r.token), key=lambda r: (r.rule.scope, r.digest))
        if any(r.penalised or r.fingerprint for r in given):
            with transaction.atomic(savepoint=False):
                for reservation in given:
                    self.give_back(reservation)
            return
        if given:
            named = [r.token.split(":", 1) for r in given]
            q = connection.ops.quote_name
            sql, params = uses.removal(
                q(Subject._meta.db_table),
                q("uses"),
                [t for _pk, t in named],
                [int(pk) for pk, _t in named],
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, params)

    def give_back(self, reservation: Reservation) -> None:
        if not reservation.penalised and not reservation.fingerprint:
            self.give_back_many([reservation])
            return
        pk, token = reservation.token.split(":", 1)
        with transaction.atomic(savepoint=False):
            row = Subject.objects.select_for_update().filter(pk=int(pk)).first()
            if row is None:  # cleared meanwhile: nothing left to give back
                return
            row.uses.pop(token, None)
            if reservation.fingerprint in row.recent:
                row.recent = [f for f in row.recent if f != reservation.fingerprint]
            if reservation.penalised and row.blocked_until == reservation.blocked_until:
                row.blocked_until, row.blocked_by = None, ""
                row.level = max(row.level - 1, 0)
            row.save(update_fields=_WRITTEN)

    def blocked_until(self, rule: Rule, digest: str, now: datetime) -> datetime | None:
        row = Subject.objects.filter(scope=rule.scope, key=digest).first()
        if row is None:
            return None
        if until := _active_block(row, now):
            return until
        if rule.penalty is not None:
            return None
        inside = uses.times(row.uses, rule.name, after=now - rule.window)
        if len(inside) < rule.max_uses() or not inside:
            return None
        return uses.moment(min(inside)) + rule.window

    def clear(self, scope: Scope, digests: list[str], now: datetime) -> dict[str, Block]:
        """Lock the rows once and delete those very rows: no second read to delete them."""
        with transaction.atomic(savepoint=False):
            locking = Subject.objects.select_for_update().filter(scope=scope, key__in=digests)
            if connection.vendor == "postgresql":  # as takes lock rows (uses.locking_in_take_order)
                locking = locking.order_by(Collate("key", "C"))
            rows = list(locking)
            if not rows:
                return {}
            lifted = {
                row.key: Block(row.blocked_until, row.blocked_by)
                for row in rows
                if row.blocked_until and row.blocked_until > now
            }
            # The locked rows by their ids (their uses are in the rows).
            Subject.objects.filter(pk__in=[row.pk for row in rows]).delete()
        return lifted

    def forget(self, subjects: Sequence[tuple[Scope, list[str]]]) -> None:
        """``clear`` without reading first, for callers that don't ask what was lifted.

        One ``DELETE``: it takes the subjects' row locks (a take holding one is waited
        for), and their uses go with the rows, a use a take committed meanwhile included.
        """
        wanted = [(scope, digests) for scope, digests in subjects if digests]
        if not wanted:
            return
        sql = _forget_sql(connection.vendor, tuple(len(digests) for _scope, digests in wanted))
        params = [value for scope, digests in wanted for value in (scope.value, *digests)]
        with transaction.mark_for_rollback_on_error(), connection.cursor() as cursor:
            cursor.execute(sql, params)

    def has_blocks(self, scope: Scope, now: datetime) -> bool:
        return Subject.objects.filter(scope=scope, blocked_until__gt=now).exists()

    def list_blocks(self, scope: Scope, digests: list[str], now: datetime) -> dict[str, Block]:
        """The active blocks among ``digests``, in one query.

        A few subjects (one person's page) are looked up by key. Many (the registration
        report: 17 a person) are matched in memory against the scope's active blocks,
        which are few: a list of hundreds of thousands of keys would cost more to send
        than the whole table of blocks, and SQLite limits a query's parameters.
        """
        active = Subject.objects.filter(scope=scope, blocked_until__gt=now)
        if len(digests) <= _LOOKUP_BY_KEY:
            active = active.filter(key__in=digests)
        wanted = set(digests)
        return {
            key: Block(until, by)
            for key, until, by in active.values_list("key", "blocked_until", "blocked_by")
            if until and key in wanted
        }
