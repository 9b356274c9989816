"""The database store: every operation in one transaction holding the subject's row lock.

``select_for_update`` serialises the requests of one subject on PostgreSQL;
SQLite runs one writer at a time anyway (``transaction_mode: IMMEDIATE``). Called
inside a caller's transaction, the count commits or rolls back with it: a
penalty that must stick even when the step then fails is taken outside.
"""

from collections.abc import Sequence
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, Q

from opensspr.throttles.base import Block, Reservation, Verdict
from opensspr.throttles.models import Subject, Use
from opensspr.throttles.rules import Pauses, Rule, Scope

#: Up to this many subjects, blocks are looked up by key; beyond, matched in memory.
_LOOKUP_BY_KEY = 500


def _upsert_sql(rows: int) -> str:
    """An insert that, on an existing row, touches it instead: either way each row comes back
    locked (PostgreSQL locks the rows an ``ON CONFLICT DO UPDATE`` updates; SQLite holds the
    one write lock) and whole, with ``RETURNING``. Both support it (SQLite since 3.35)."""
    q = connection.ops.quote_name
    table = q(Subject._meta.db_table)
    columns = ", ".join(q(str(f.column)) for f in Subject._meta.concrete_fields)
    values = ", ".join(["(%s, %s, NULL, '', 0, NULL, '[]')"] * rows)
    scope, key = q("scope"), q("key")
    # Only quoted names of this model and placeholders go into the text: no value does.
    return (
        f"INSERT INTO {table} ({scope}, {key}, {q('blocked_until')}, {q('blocked_by')}, "  # noqa: S608
        f"{q('level')}, {q('last_use_at')}, {q('recent')}) VALUES {values} "
        f"ON CONFLICT ({scope}, {key}) DO UPDATE SET {scope} = EXCLUDED.{scope} "
        f"RETURNING {columns}"
    )


def _locked_rows(subjects: set[tuple[Scope, str]]) -> dict[tuple[str, str], Subject]:
    """The subjects' rows, created if missing, locked, in one statement.

    Locked in one order (sorted), so two batches over the same subjects can't deadlock.
    """
    ordered = sorted(subjects)
    params = [part for subject in ordered for part in subject]
    rows = Subject.objects.raw(_upsert_sql(len(ordered)), params)
    return {(row.scope, row.key): row for row in rows}


def _locked(scope: Scope, digest: str) -> Subject:
    """The subject's row, created if missing, locked: one statement whether it existed or not."""
    return _locked_rows({(scope, digest)})[(scope, digest)]


def _active_block(row: Subject, now: datetime) -> datetime | None:
    return row.blocked_until if row.blocked_until and row.blocked_until > now else None


def _oldest_use(rule: Rule, row: Subject) -> datetime | None:
    oldest = Use.objects.filter(subject=row, rule=rule.name).order_by("at").first()
    return oldest.at if oldest else None


def _window_frees_at(rule: Rule, row: Subject) -> datetime | None:
    """When a full window without a penalty lets the next use through."""
    oldest = _oldest_use(rule, row)
    return oldest + rule.window if oldest else None


def _count(rule: Rule, row: Subject, now: datetime) -> int:
    """Uses inside the window; those that left it (or all, after a quiet window) are deleted."""
    uses = Use.objects.filter(subject=row, rule=rule.name)
    if rule.quiet_reset and row.last_use_at and now - row.last_use_at > rule.window:
        uses.delete()
        row.level, row.recent = 0, []
        return 0
    if rule.quiet_reset:
        return uses.count()
    since = now - rule.window
    counts = uses.aggregate(inside=Count("pk", filter=Q(at__gt=since)), total=Count("pk"))
    if counts["total"] > counts["inside"]:
        uses.filter(at__lte=since).delete()
    return int(counts["inside"])


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


def _counts(
    takes: Sequence[tuple[Rule, Subject]], now: datetime
) -> list[tuple[int, datetime | None]]:
    """Uses inside each take's window and the oldest of them, read in one query; those that
    left it are deleted.

    The uses are counted here, not by the database: a subject keeps at most about its
    limit of them (a refused use isn't stored, one out of its window is deleted at the
    next take), and Django took several times longer to compile one conditional
    ``COUNT`` per rule than the database took to send the rows.
    """
    rows = Use.objects.filter(
        subject_id__in={row.pk for _rule, row in takes},
        rule__in={rule.name for rule, _row in takes},
    ).values_list("subject_id", "rule", "at")
    uses: dict[tuple[int, str], list[datetime]] = {}
    for subject_id, name, at in rows:
        uses.setdefault((subject_id, name), []).append(at)
    inside: list[tuple[int, datetime | None]] = []
    stale = Q()
    for rule, row in takes:
        times = uses.get((row.pk, rule.name), [])
        since = now - rule.window
        kept = [at for at in times if at > since]
        inside.append((len(kept), min(kept, default=None)))
        if len(kept) < len(times):
            stale |= Q(subject_id=row.pk, rule=rule.name, at__lte=since)
    if stale:
        Use.objects.filter(stale).delete()
    return inside


class DatabaseStore:
    def take_many(
        self, takes: Sequence[tuple[Rule, str]], now: datetime, *, reserve: bool
    ) -> list[Reservation]:
        """``take`` for each (rule, digest) in order, stopping at the first refusal (returned
        last): one statement locks every subject, one counts, one inserts the uses.

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
        with transaction.atomic(savepoint=False):
            subjects = {(rule.scope, digest) for rule, digest in [*takes, *peeks]}
            rows = _locked_rows(subjects)
            done = self._take_locked(takes, rows, now, reserve=reserve)
        blocks = [_active_block(rows[(rule.scope, digest)], now) for rule, digest in peeks]
        return done, blocks

    def _take_locked(
        self,
        takes: Sequence[tuple[Rule, str]],
        rows: dict[tuple[str, str], Subject],
        now: datetime,
        *,
        reserve: bool,
    ) -> list[Reservation]:
        pairs = [(rule, rows[(rule.scope, digest)]) for rule, digest in takes]
        counts = _counts(pairs, now)
        taken: list[tuple[Rule, Subject, Use, int, bool, datetime | None]] = []
        refused: Reservation | None = None
        over: tuple[Rule, Subject] | None = None
        for (rule, row), (stored, oldest) in zip(pairs, counts, strict=True):
            earlier = [t for t in taken if t[0].name == rule.name and t[1] is row]
            count = stored + len(earlier)
            if until := _active_block(row, now):
                refused = Reservation(rule, row.key, Verdict(False, until))
                break
            if count >= rule.max_uses() and not (reserve and rule.penalty):
                over = (rule, row)
                break
            until = _penalty_on_reserve(rule, row, now, count + 1, oldest) if reserve else None
            penalised = until is not None
            if penalised:
                row.save()
            use = Use(subject=row, rule=rule.name, at=now)
            taken.append((rule, row, use, count + 1, penalised, until))
        Use.objects.bulk_create([t[2] for t in taken])  # those before a refusal count
        if over is not None:
            refused = self._refuse(*over, now)
        done = [
            Reservation(
                rule,
                row.key,
                Verdict(True, until, newly_blocked=penalised, used=used),
                str(use.pk),
                penalised,
            )
            for rule, row, use, used, penalised, until in taken
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
            count = _count(rule, row, now)
            if rule.quiet_reset:
                row.last_use_at = now
            if fingerprint and fingerprint in row.recent:
                row.save()
                return Reservation(rule, digest, Verdict(True))
            if count >= rule.max_uses() and not (reserve and rule.penalty):
                return self._refuse(rule, row, now)
            use = Use.objects.create(subject=row, rule=rule.name, at=now)
            if fingerprint:
                row.recent = [*row.recent, fingerprint][-rule.distinct :]
            oldest = _oldest_use(rule, row) if isinstance(rule.penalty, Pauses) else None
            until = _penalty_on_reserve(rule, row, now, count + 1, oldest) if reserve else None
            penalised = until is not None
            if penalised or fingerprint or rule.quiet_reset:
                row.save()
            verdict = Verdict(True, until, newly_blocked=penalised, used=count + 1)
            return Reservation(rule, digest, verdict, str(use.pk), penalised, fingerprint)

    def _refuse(self, rule: Rule, row: Subject, now: datetime) -> Reservation:
        if rule.penalty is None:
            return Reservation(rule, row.key, Verdict(False, _window_frees_at(rule, row)))
        until = _penalise(rule, row, now)
        row.save()
        return Reservation(rule, row.key, Verdict(False, until, newly_blocked=True))

    def give_back_many(self, reservations: Sequence[Reservation]) -> None:
        """Plain reservations go in one delete; a penalised or remembered one its own way."""
        plain = [r for r in reservations if r.token and not (r.penalised or r.fingerprint)]
        if plain:
            # Deleting uses needs no lock: a parallel count sees them or not, both safe.
            Use.objects.filter(pk__in=[int(r.token) for r in plain]).delete()
        for reservation in reservations:
            if reservation.token and reservation not in plain:
                self.give_back(reservation)

    def give_back(self, reservation: Reservation) -> None:
        rule = reservation.rule
        if not reservation.penalised and not reservation.fingerprint:
            # Deleting one use needs no lock: a parallel count sees it or not, both safe.
            Use.objects.filter(pk=int(reservation.token), rule=rule.name).delete()
            return
        with transaction.atomic(savepoint=False):
            row = (
                Subject.objects.select_for_update()
                .filter(scope=rule.scope, key=reservation.digest)
                .first()
            )
            if row is None:  # cleared meanwhile: nothing left to give back
                return
            Use.objects.filter(subject=row, pk=int(reservation.token)).delete()
            if reservation.fingerprint in row.recent:
                row.recent = [f for f in row.recent if f != reservation.fingerprint]
            if reservation.penalised and row.blocked_until == reservation.blocked_until:
                row.blocked_until, row.blocked_by = None, ""
                row.level = max(row.level - 1, 0)
            row.save()

    def blocked_until(self, rule: Rule, digest: str, now: datetime) -> datetime | None:
        row = Subject.objects.filter(scope=rule.scope, key=digest).first()
        if row is None:
            return None
        if until := _active_block(row, now):
            return until
        if rule.penalty is not None:
            return None
        since = now - rule.window
        uses = Use.objects.filter(subject=row, rule=rule.name, at__gt=since)
        if uses.count() < rule.max_uses():
            return None
        oldest = uses.order_by("at").first()
        return oldest.at + rule.window if oldest else None

    def clear(self, scope: Scope, digests: list[str], now: datetime) -> dict[str, Block]:
        """Lock the rows once and delete those very rows: no second read to delete them."""
        with transaction.atomic(savepoint=False):
            rows = list(Subject.objects.select_for_update().filter(scope=scope, key__in=digests))
            if not rows:
                return {}
            lifted = {
                row.key: Block(row.blocked_until, row.blocked_by)
                for row in rows
                if row.blocked_until and row.blocked_until > now
            }
            # The locked rows by their ids; the database deletes their uses (DB_CASCADE).
            Subject.objects.filter(pk__in=[row.pk for row in rows]).delete()
        return lifted

    def forget(self, subjects: Sequence[tuple[Scope, list[str]]]) -> None:
        """``clear`` without reading first, for callers that don't ask what was lifted.

        One ``DELETE``: it takes the subjects' row locks (a take holding one is waited
        for), and the database deletes their uses with them (``DB_CASCADE``), a use a
        take committed meanwhile included.
        """
        wanted = Q()
        for scope, digests in subjects:
            if digests:
                wanted |= Q(scope=scope, key__in=digests)
        if wanted:
            Subject.objects.filter(wanted).delete()

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
