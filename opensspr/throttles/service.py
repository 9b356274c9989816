"""The one throttle API every caller uses.

* ``hit(rule, key)``: ask to use something once more (send a text, check a
  number). Counted when allowed; a use over the limit is refused and, if the
  rule has one, sets its penalty.
* ``reserve(rule, key)`` before comparing an answer, then ``give_back`` when it
  was right: the failure is counted *before* the comparison, so however many
  answers arrive at once, at most ``limit`` are ever compared (attack A2). The
  reservation that reaches the limit sets the penalty at once (the limit-th
  wrong answer blocks) and still has its answer compared; its ``give_back``
  lifts that penalty again.
* ``blocked_until(rule, key)``: a plain read for "may this subject start?".
* ``clear(scope, *keys)``: forget a subject's counts and penalty (a successful
  reset, an administrator lifting a block).

``key`` is what the rule's ``KeyKind`` says (a typed user ID's identifier key,
an address, ...); stores only ever see its keyed digest. ``now`` defaults to
the product clock. A rule's store is the database when the rule is durable or
no ``REDIS_URL`` is set, else Redis (ADR 0003).
"""

from collections.abc import Mapping, Sequence
from datetime import datetime

from django.conf import settings

from opensspr.core import clock
from opensspr.core.crypto import keyed_digest
from opensspr.throttles.base import Block, Reservation, Store, Verdict
from opensspr.throttles.database import DatabaseStore
from opensspr.throttles.rules import Rule, Scope, scope_is_durable

_DATABASE = DatabaseStore()


def store_for(scope: Scope) -> Store:
    """Where a scope's counts live: durable scopes and the embedded set-up use the database."""
    if scope_is_durable(scope) or not settings.REDIS_URL:
        return _DATABASE
    # Loaded only with a REDIS_URL: the embedded set-up never pays for the client (~8 MB).
    from opensspr.throttles.redis_store import RedisStore  # noqa: PLC0415

    return RedisStore(settings.REDIS_URL)


def digest(scope: Scope, key: str) -> str:
    """The subject as stored: a keyed digest bound to the scope, never the key itself."""
    return keyed_digest(f"throttle.{scope}", key)


def fingerprint(rule: Rule, key: str, value: str) -> str:
    """A repeat-detection digest of ``value`` (a wrong password) for one subject of ``rule``."""
    return keyed_digest(f"throttle.{rule.scope}.repeat", f"{key}\x00{value}")[:32]


def hit(rule: Rule, key: str, *, now: datetime | None = None) -> Verdict:
    """Count one use of ``rule`` by ``key`` if allowed; over the limit, refuse (and penalise)."""
    store = store_for(rule.scope)
    taken = store.take(
        rule, digest(rule.scope, key), now or clock.now(), reserve=False, fingerprint=""
    )
    return taken.verdict


def reserve(
    rule: Rule, key: str, *, now: datetime | None = None, repeat_of: str = ""
) -> Reservation:
    """Count a failure of ``rule`` before the answer is compared; compare only if allowed.

    ``repeat_of``: the value about to be compared, for rules that don't count
    a remembered repeat twice (``Rule.distinct``); it is kept only as a keyed
    digest. A wrong answer needs nothing more; a right one: ``give_back``.
    """
    mark = fingerprint(rule, key, repeat_of) if repeat_of and rule.distinct else ""
    store = store_for(rule.scope)
    return store.take(
        rule, digest(rule.scope, key), now or clock.now(), reserve=True, fingerprint=mark
    )


def _take_many(
    takes: Sequence[tuple[Rule, str]], now: datetime | None, *, reserve: bool
) -> list[Reservation]:
    at = now or clock.now()
    digested = [(rule, digest(rule.scope, key)) for rule, key in takes]
    stores = {type(store_for(rule.scope)) for rule, _key in takes}
    if stores == {DatabaseStore}:
        return _DATABASE.take_many(digested, at, reserve=reserve)
    done: list[Reservation] = []
    for rule, subject in digested:
        store = store_for(rule.scope)
        done.append(store.take(rule, subject, at, reserve=reserve, fingerprint=""))
        if not done[-1].allowed:
            break
    return done


def hit_many(takes: Sequence[tuple[Rule, str]], *, now: datetime | None = None) -> list[Verdict]:
    """``hit`` each (rule, key) in order, up to and with the first refused (the last verdict).

    On the database it costs one statement however many rules and subjects, and an
    ``UPDATE`` per row that a refusal or a penalty changes.
    """
    return [taken.verdict for taken in _take_many(takes, now, reserve=False)]


def reserve_many(
    takes: Sequence[tuple[Rule, str]], *, now: datetime | None = None
) -> list[Reservation]:
    """``reserve`` each (rule, key) in order, up to and with the first refused (the last one).

    Rules that remember repeats (``repeat_of``) go through ``reserve`` one by one.
    """
    return _take_many(takes, now, reserve=True)


def reserve_many_peeking(
    takes: Sequence[tuple[Rule, str]],
    peeks: Sequence[tuple[Rule, str]],
    *,
    now: datetime | None = None,
) -> tuple[list[Reservation], list[datetime | None]]:
    """``reserve_many``, and ``blocked_until`` of each (rule, key) in ``peeks`` (a pause to
    look at before going on). On the database the look rides in the statement that locks
    the reserved subjects; elsewhere it is asked on its own."""
    at = now or clock.now()
    stores = {type(store_for(rule.scope)) for rule, _key in [*takes, *peeks]}
    if stores == {DatabaseStore}:
        return _DATABASE.take_many_peeking(
            [(rule, digest(rule.scope, key)) for rule, key in takes],
            [(rule, digest(rule.scope, key)) for rule, key in peeks],
            at,
            reserve=True,
        )
    pauses = [blocked_until(rule, key, now=at) for rule, key in peeks]
    return _take_many(takes, at, reserve=True), pauses


def give_back_many(reservations: Sequence[Reservation]) -> None:
    """``give_back`` each; those in the database in one statement where they can."""
    in_database = [r for r in reservations if isinstance(store_for(r.rule.scope), DatabaseStore)]
    if in_database:
        _DATABASE.give_back_many(in_database)
    for reservation in reservations:
        if reservation not in in_database:
            give_back(reservation)


def give_back(reservation: Reservation) -> None:
    """The answer was right: uncount the reserved failure and lift any penalty it set."""
    if reservation.token:
        store_for(reservation.rule.scope).give_back(reservation)


def blocked_until(rule: Rule, key: str, *, now: datetime | None = None) -> datetime | None:
    """Until when ``key`` may not use ``rule``: its scope's penalty, or a full window."""
    store = store_for(rule.scope)
    return store.blocked_until(rule, digest(rule.scope, key), now or clock.now())


def clear(scope: Scope, *keys: str, now: datetime | None = None) -> dict[str, Block]:
    """Forget every count and penalty of ``keys`` in ``scope`` (all its rules).

    Returns the penalties that were active, by key, read under the same lock
    as the delete: of two administrators lifting a block at once, one gets it.
    """
    by_digest = {digest(scope, key): key for key in keys}
    lifted = store_for(scope).clear(scope, list(by_digest), now or clock.now())
    return {by_digest[d]: block for d, block in lifted.items()}


def forget(subjects: Mapping[Scope, Sequence[str]], *, now: datetime | None = None) -> None:
    """``clear`` for several scopes at once, without reading what was lifted.

    The scopes kept in the database go in one statement together (a successful
    reset forgets the person's reset counts and sign-in lockout at once).
    """
    in_database: list[tuple[Scope, list[str]]] = []
    for scope, keys in subjects.items():
        digests = [digest(scope, key) for key in keys]
        if isinstance(store_for(scope), DatabaseStore):
            in_database.append((scope, digests))
        else:
            store_for(scope).clear(scope, digests, now or clock.now())
    _DATABASE.forget(in_database)


def has_blocks(scope: Scope, *, now: datetime | None = None) -> bool:
    """Whether any subject of a durable scope is blocked or paused now: one indexed read.

    Listing blocks digests every key asked about; when there is no block at all
    (the usual case), a report of a million people needn't digest anything.
    """
    if not scope_is_durable(scope):
        raise ValueError(f"{scope}: blocks are listed for durable scopes only")
    return _DATABASE.has_blocks(scope, now or clock.now())


def list_blocks(scope: Scope, keys: list[str], *, now: datetime | None = None) -> dict[str, Block]:
    """Active penalties of many subjects of a durable scope, read at once (the console)."""
    if not scope_is_durable(scope):
        raise ValueError(f"{scope}: blocks are listed for durable scopes only")
    by_digest = {digest(scope, key): key for key in keys}
    return {
        by_digest[d]: block
        for d, block in _DATABASE.list_blocks(scope, list(by_digest), now or clock.now()).items()
    }
