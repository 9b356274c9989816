"""Run the same behaviour against both stores: the database always, Redis where it is set up."""

import pytest
from django.conf import settings

from opensspr.throttles import service
from opensspr.throttles.base import Store
from opensspr.throttles.database import DatabaseStore
from opensspr.throttles.redis_store import RedisStore


def redis_store() -> RedisStore:
    """The scale-out run's Redis (``REDIS_URL``); the embedded run has none to test."""
    if not settings.REDIS_URL:
        pytest.skip("Redis is tested in the scale-out configuration (REDIS_URL)")
    return RedisStore(settings.REDIS_URL)


@pytest.fixture(params=["database", "redis"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Store:
    """Every rule counted in the store under test, whatever it declares (both must behave alike)."""
    chosen: Store = DatabaseStore() if request.param == "database" else redis_store()
    monkeypatch.setattr(service, "store_for", lambda scope: chosen)
    return chosen
