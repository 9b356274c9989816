"""Under ASGI the response floor and the concurrency limit really run async.

Django runs a middleware that can do both in the mode of the one below it; with a
sync-only middleware lower down, a floor declared "both" was slept in a thread and
the limit bounded nothing. This loads the middleware as ``opensspr serve`` does.
"""

from typing import Any

from django.core.handlers.asgi import ASGIHandler

from opensspr.core.concurrency import ConcurrencyLimitMiddleware
from opensspr.core.timing import ResponseFloorMiddleware


def _chain(handler: Any) -> list[Any]:
    """Every middleware instance of the loaded chain, outermost first."""
    found, seen, todo = [], set(), [handler._middleware_chain]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (ResponseFloorMiddleware, ConcurrencyLimitMiddleware)):
            found.append(item)
        todo += [getattr(item, name, None) for name in ("__wrapped__", "func", "get_response")]
    return found


def test_the_floor_and_the_limit_run_async_under_asgi():
    handler = ASGIHandler()  # loads MIDDLEWARE in async mode, as under `opensspr serve`
    found = _chain(handler)
    assert {type(m) for m in found} == {ResponseFloorMiddleware, ConcurrencyLimitMiddleware}
    assert all(m.is_async for m in found)
