"""Memory for the organisation's single-row settings: per request, and shared across requests.

One reset step asked for the SSPR policy up to five times (eligibility, the
page, the budget, the operation check...), each a query; a whole reset, five
steps, read it five times more. ``RequestContextMiddleware`` opens a memo per
request, and the selectors of the single-row settings (SSPR policy, password
settings, organisation) read through it: once per request. Read with
``shared=True``, a row the memo doesn't hold yet comes from Django's cache
(Redis on the scale-out set-up, so every process sees one copy; the process's
memory on the embedded one), and only on a miss from the database.

Why a save can't be missed: each shared row is filed under a **stamp**, a random
token kept beside it in the cache, and is used only when its stamp is the current
one. Saving or deleting the row (the models' signals call ``forget``) draws a new
stamp at once and again when the transaction commits. A request that read the
old row before the commit files it under the stamp it saw before reading, which
the commit has replaced: nobody uses it. A write that sends no signal
(``update()``, SQL by hand, another process on the embedded set-up) is seen when
the row's ``SHARED_FOR`` runs out; code that does one calls ``forget`` itself.

A request's first shared read fetches the stamps of every shared row this
process has read so far, in one round trip, and a row whose stamp the process
already holds a copy under is not fetched again (it keeps a copy of each row
with its stamp and hands each request a deep copy, so no two requests share an
instance): one look at Redis per request on the scale-out set-up, where each row
used to cost one. So a request works from the settings as they stood at its
first shared read, all from one moment; a save committed while it runs is seen by
the next request, and by the saving request itself once it commits.

Outside a request (commands, the delivery worker, tests calling services)
there is no memo and every read goes to the database.
"""

import contextvars
import copy
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

_memo: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "request_memo", default=None
)

#: Seconds a shared row may be served without a look at the database: the bound on
#: how late a write that sends no signal is seen.
SHARED_FOR = 60
_now = time.time  # wall clock: a copy's expiry is compared across processes

#: The memo's entry holding the keys this request changed in a transaction still open:
#: it doesn't file them (a rollback would leave its own uncommitted row filed under the
#: current stamp, served everywhere for up to ``SHARED_FOR``).
_UNCOMMITTED = "\0uncommitted"
#: The memo's entry holding the stamps as this request found them (key → stamp or None).
_STAMPS = "\0stamps"
#: The shared keys this process has read: a request fetches all their stamps at once.
_known: set[str] = set()
#: This process's copies of shared rows: key → (stamp, row, wall-clock expiry). Never
#: handed out: each request gets a deep copy (about 20 µs for the policy row).
_kept: dict[str, tuple[str, Any, float]] = {}


@contextmanager
def request_memo() -> Iterator[None]:
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def remembered[T](key: str, load: Callable[[], T], *, shared: bool = False) -> T:
    """``load()``, once per request for ``key``; every time outside a request.

    ``shared``: across requests too, through the cache (the module's docstring says
    why a save is never missed). Only for rows whose every write sends a model signal.
    """
    memo = _memo.get()
    if memo is None:
        return load()
    if key not in memo:
        memo[key] = _shared(memo, key, load) if shared else load()
    return memo[key]


def forget(key: str) -> None:
    """``key``'s row changed: this request's memo drops it, and every process's shared copy
    is void now and again at commit (a read in between filed what the database held
    before the commit). At the commit the request also drops the stamps it holds: one
    read since ``forget`` may have taken the first new stamp, under which another
    process can have filed the row as it stood before the commit. Until then this
    request files no copy of the row: what it reads is its own uncommitted change."""
    memo = _memo.get()
    if memo is not None:
        _drop(memo, key)
        if transaction.get_connection().in_atomic_block:
            memo.setdefault(_UNCOMMITTED, set()).add(key)
    _new_stamp(key)

    def committed() -> None:
        _new_stamp(key)
        if memo is not None:
            _drop(memo, key)
            memo.get(_UNCOMMITTED, set()).discard(key)

    transaction.on_commit(committed)


def _drop(memo: dict[str, Any], key: str) -> None:
    memo.pop(key, None)
    memo.pop(_STAMPS, None)  # the next shared read looks at the stamps again


def _stamp_key(key: str) -> str:
    return f"memo:{key}:stamp"


def _row_key(key: str) -> str:
    return f"memo:{key}:row"


def _current_stamp(memo: dict[str, Any], key: str) -> str | None:
    """``key``'s stamp as this request found it: the first shared read of a request asks
    for every known key's at once, a key new to the process on its own."""
    stamps: dict[str, str | None] | None = memo.get(_STAMPS)
    if stamps is None or key not in stamps:
        _known.add(key)
        asked = sorted(_known) if stamps is None else [key]
        found = cache.get_many([_stamp_key(one) for one in asked])
        stamps = {**(stamps or {}), **{one: found.get(_stamp_key(one)) for one in asked}}
        memo[_STAMPS] = stamps
    return stamps[key]


def _shared[T](memo: dict[str, Any], key: str, load: Callable[[], T]) -> T:
    try:
        stamp = _current_stamp(memo, key)
        if stamp is not None:
            kept = _kept.get(key)
            if kept is not None and kept[0] == stamp and kept[2] > _now():
                return copy.deepcopy(kept[1])  # filed by this function with a T
            filed = cache.get(_row_key(key))
            fresh = isinstance(filed, tuple) and len(filed) == 3 and filed[2] > _now()
            if fresh and filed[0] == stamp:
                _kept[key] = (stamp, copy.deepcopy(filed[1]), filed[2])
                return filed[1]  # filed by this function with a T
    except Exception:  # a cache is an optimisation: down, the database answers
        logger.warning("cache unreachable; reading %s from the database", key)
        return load()
    if stamp is None:
        stamp = _new_stamp(key)
    value = load()  # read after the stamp: a save committed meanwhile has replaced it
    if stamp and key not in memo.get(_UNCOMMITTED, ()):
        expires = _now() + SHARED_FOR
        try:
            cache.set(_row_key(key), (stamp, value, expires), SHARED_FOR)
        except Exception:  # as above
            logger.warning("cache unreachable; %s not shared", key)
            return value
        _kept[key] = (stamp, copy.deepcopy(value), expires)
    return value


def _new_stamp(key: str) -> str:
    """A fresh stamp for ``key`` ("" when the cache can't be reached: nothing is filed)."""
    stamp = secrets.token_hex(8)
    try:
        cache.set(_stamp_key(key), stamp, None)
    except Exception:  # as above
        logger.warning("cache unreachable; %s's shared copy not voided", key)
        return ""
    return stamp
