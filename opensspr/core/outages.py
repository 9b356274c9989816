"""Which exceptions mean "a service we depend on is down", as opposed to a bug.

An outage of the database, the cache or the directory answers 503 (the API's
``service_unavailable``, the portal's "nothing was changed, try again" page);
any other unexpected exception answers 500. Both say nothing about the cause.
The database and Redis errors are known here; an app whose own error means an
outage registers it from its ``AppConfig.ready`` (core imports none of them).
An exception counts when it, or any exception it was raised from, is one.
"""

import sys

from django.db import InterfaceError, OperationalError

#: The database, refused or timing out (SQLite's "database is locked" included).
_OUTAGE_ERRORS: list[type[BaseException]] = [OperationalError, InterfaceError]


def _redis_errors() -> tuple[type[BaseException], ...]:
    """Redis refused or timing out: known once the client is loaded, which is also the only
    way one of its errors can exist. The embedded set-up never loads it (about 8 MB)."""
    exceptions = sys.modules.get("redis.exceptions")
    # While another thread imports it the module may be half built: what isn't there yet
    # can't have been raised either.
    found = (getattr(exceptions, name, None) for name in ("ConnectionError", "TimeoutError"))
    return tuple(error for error in found if isinstance(error, type))


def register_outage_errors(*errors: type[BaseException]) -> None:
    for error in errors:
        if error not in _OUTAGE_ERRORS:
            _OUTAGE_ERRORS.append(error)


def is_outage(exc: BaseException | None) -> bool:
    """Whether ``exc`` or an exception in its cause chain is a dependency outage."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, (*_OUTAGE_ERRORS, *_redis_errors())):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def outage_cause(exc: BaseException | None) -> str:
    """A short, secret-free name for an outage, for the operator's log.

    A driver's message may quote a query or an address, so only class names are
    logged, plus SQLite's own error name (``SQLITE_FULL`` for a full disk,
    ``SQLITE_BUSY`` for a lock), which says what the operator must fix and
    carries no data.
    """
    names: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        name = type(exc).__name__
        sqlite_name = getattr(exc, "sqlite_errorname", None)
        if isinstance(sqlite_name, str) and sqlite_name.isupper():
            name = f"{name} {sqlite_name}"
        if name not in names:
            names.append(name)
        exc = exc.__cause__ or exc.__context__
    return " <- ".join(names)
