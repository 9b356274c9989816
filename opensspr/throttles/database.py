"""The database store: every operation in one transaction holding the subject's row lock.

``select_for_update`` serialises the requests of one subject on PostgreSQL;
SQLite runs one writer at a time anyway (``transaction_mode: IMMEDIATE``). Called
inside a caller's transaction, the count commits or rolls back with it: a
penalty that must stick even when the step then fails is taken outside.
"""

from datetime import datetime

from django.db import connection, router, transaction
from django.db.models import Count, Q
from django.db.models.deletion import Collector

from opensspr.throttles.base import Block, Reservation, Verdict
from opensspr.throttles.models import Subject, Use
from opensspr.throttles.rules import Rule, Scope


def _locked(scope: Scope, digest: str) -> Subject:
    """The subject's row, created if missing, locked: two statements whether it existed or not."""
    Subject.objects.bulk_create([Subject(scope=scope, key=digest)], ignore_conflicts=True)
    return Subject.objects.select_for_update().get(scope=scope, key=digest)


def _active_block(row: Subject, now: datetime) -> datetime | None:
    return row.blocked_until if row.blocked_until and row.blocked_until > now else None


def _window_frees_at(rule: Rule, row: Subject) -> datetime | None:
    """When a full window without a penalty lets the next use through."""
    oldest = Use.objects.filter(subject=row, rule=rule.name).order_by("at").first()
    return oldest.at + rule.window if oldest else None


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


class DatabaseStore:
    def take(
        self, rule: Rule, digest: str, now: datetime, *, reserve: bool, fingerprint: str
    ) -> Reservation:
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
            penalised = reserve and rule.penalty is not None and count + 1 >= rule.max_uses()
            until = _penalise(rule, row, now) if penalised else None
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
            # Collecting the locked instances (not a queryset) skips the collector's own
            # SELECT; it still deletes their Use rows first (CASCADE), then the subjects.
            collector = Collector(using=router.db_for_write(Subject))
            collector.collect(rows)
            collector.delete()
        return lifted

    def list_blocks(self, scope: Scope, digests: list[str], now: datetime) -> dict[str, Block]:
        """One query while the backend takes that many parameters (always on PostgreSQL)."""
        size = connection.features.max_query_params or len(digests) or 1
        found: dict[str, Block] = {}
        for start in range(0, len(digests), size):
            rows = Subject.objects.filter(
                scope=scope, key__in=digests[start : start + size], blocked_until__gt=now
            ).values_list("key", "blocked_until", "blocked_by")
            found.update({key: Block(until, by) for key, until, by in rows if until})
        return found
