"""Shared fixtures: a controllable clock, directory users built through the services,
request meta, and the rule that a missing real component fails under CI."""

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache

from opensspr.accounts.models import User
from opensspr.accounts.services import UserData, create_user
from opensspr.core import clock as clock_module
from opensspr.core.request_meta import RequestMeta
from opensspr.directory.sync_users import create_synced_user
from opensspr.throttles.rules import DESTINATION_COOLDOWN

#: The real directory servers (one slapd, one Samba AD DC per session, for every folder).
pytest_plugins = ["tests.directory.servers"]

DEFAULT_PASSWORD = "Harbour-Lights-77"


def require_component(name: str, available: bool) -> None:
    """Skip a test whose real component is missing; under CI=true, fail instead."""
    if available:
        return
    message = f"{name} is not available on this machine"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: missing components fail, see ./dev test)")
    pytest.skip(message)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the browser tests last, and leave ``timing`` tests out unless asked for.

    Browser tests last: Playwright's sync API keeps its event loop set as the
    running loop of the test thread from the first browser test to the end of
    the session, and Django's test client then can't adapt the async-only
    middleware (``async_to_sync`` refuses a thread with a running loop).

    ``timing`` tests measure wall-clock time, so they run as their own step
    (``./dev test`` runs ``pytest -m timing``) on a quiet machine, never inside
    the default run where a busy neighbour would make them fail.
    """
    items.sort(key=lambda item: "/e2e/" in str(item.path))  # stable: order kept otherwise
    if "timing" in (config.getoption("markexpr") or ""):
        return
    timed = [item for item in items if item.get_closest_marker("timing")]
    if timed:
        config.hook.pytest_deselected(items=timed)
        items[:] = [item for item in items if not item.get_closest_marker("timing")]


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    cache.clear()
    yield
    clock_module.unfreeze()


class Clock:
    """Frozen, steerable time for the code under test (opensspr.core.clock)."""

    def __init__(self) -> None:
        clock_module.freeze(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))

    @property
    def now(self) -> datetime:
        """The product clock's time, also when a helper moved it (``past_the_send_cooldown``)."""
        return clock_module.now()

    def advance(self, **kwargs: float) -> datetime:
        return clock_module.advance(timedelta(**kwargs))

    def set(self, moment: datetime) -> None:
        clock_module.freeze(moment)


def past_the_send_cooldown() -> None:
    """Move the product clock past one destination's send cooldown (attack A5).

    For tests that send a second code or call to the same inbox or phone, as a
    person would a minute later; freezes the clock if it was running.
    """
    clock_module.freeze(clock_module.now() + DESTINATION_COOLDOWN.window + timedelta(seconds=1))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def meta() -> RequestMeta:
    return RequestMeta("192.0.2.10", "pytest", "test-correlation")


@pytest.fixture
def user_factory(db: Any, meta: RequestMeta) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(
        user_id: str | None = None, *, password: str | None = DEFAULT_PASSWORD, **fields: Any
    ) -> User:
        n = next(counter)
        source, dn = fields.pop("source", "cloud"), fields.pop("on_premises_dn", "")
        data = UserData(
            user_id=user_id or f"user{n}@contoso.example",
            display_name=fields.pop("display_name", f"User {n}"),
            given_name=fields.pop("given_name", "Test"),
            surname=fields.pop("surname", f"Person{n}"),
            **fields,
        )
        if source == "synced":  # only sync's own door sets a source and a DN
            return create_synced_user(data=data, dn=dn, meta=meta)
        return create_user(data=data, meta=meta, password=password)

    return make


def open_reset_policy(**overrides: Any) -> None:
    """Self-service reset on for everyone with every built method allowed (tests' default).

    ``update_or_create``: transactional tests (live server) start without the row
    the migration creates.
    """
    from opensspr.policy.models import SsprPolicy

    defaults = {
        "scope": "all",
        "methods_required": 1,
        "allow_email": True,
        "allow_mobile_sms": True,
        "allow_mobile_voice": True,
        "allow_office_voice": True,
        "allow_app_code": True,
        "unlock_without_reset": True,
        "admins_may_reset": True,
        "helpdesk_contact": "",
    }
    SsprPolicy.objects.update_or_create(pk=1, defaults=defaults | overrides)


def update_policy(**fields: Any) -> None:
    """Change the SSPR policy row in place (``update()``, no signal), and void its cached copy."""
    from opensspr.core.memo import forget
    from opensspr.policy.models import SSPR_POLICY_KEY, SsprPolicy

    SsprPolicy.objects.filter(pk=1).update(**fields)
    forget(SSPR_POLICY_KEY)


def delivered(**filters: Any) -> Any:
    """The outbox after delivering what is due.

    Inside a test's transaction inline delivery never fires (nothing commits), so
    deliver as the background worker does in production, then read the outbox.
    """
    from opensspr.channels import deliver_due, list_outbox

    deliver_due()
    return list_outbox(**filters)
