"""Per-request memory for the organisation's single-row settings.

One reset step asked for the SSPR policy up to five times (eligibility, the
page, the budget, the operation check...), each a query. Within one request
those rows don't change unless the request itself saves them, so
``RequestContextMiddleware`` opens a memo for the request and the selectors of
the single-row settings (SSPR policy, password settings, organisation) read
through it. Saving or deleting one of those rows forgets it (``forget``,
connected to the models' signals), so a console save is seen by the rest of the
same request. Outside a request (commands, the delivery worker, tests calling
services) there is no memo and every read goes to the database: nothing can
go stale across requests or processes.
"""

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_memo: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "request_memo", default=None
)


@contextmanager
def request_memo() -> Iterator[None]:
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def remembered[T](key: str, load: Callable[[], T]) -> T:
    """``load()``, once per request for ``key``; every time outside a request."""
    memo = _memo.get()
    if memo is None:
        return load()
    if key not in memo:
        memo[key] = load()
    return memo[key]


def forget(key: str) -> None:
    memo = _memo.get()
    if memo is not None:
        memo.pop(key, None)
