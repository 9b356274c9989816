"""Each PostgreSQL worker's pool holds a connection for every thread that may want one at once."""

import pytest
from django.conf import settings

from opensspr.channels import services as channel_services
from opensspr.core import concurrency, serving


@pytest.fixture
def postgres_settings(monkeypatch):
    database = {"ENGINE": "django.db.backends.postgresql", "NAME": "x", "OPTIONS": {}}
    monkeypatch.setattr(settings, "DATABASES", {"default": database})
    monkeypatch.setattr(serving.connections, "close_all", lambda: None)
    limit = concurrency.limit()
    yield database
    concurrency.set_limit(limit)


@pytest.mark.parametrize("threads", [1, 4, 8])
def test_the_pool_covers_the_kept_request_threads_and_the_deliveries(postgres_settings, threads):
    # An agent-backed reset holds its connection while it waits in its slot for the
    # agent's answer, which comes in as a request on a thread of the agents' slots.
    concurrency.set_limit(threads)
    serving._pool_database_connections()
    pool = postgres_settings["OPTIONS"]["pool"]
    deliveries = channel_services._background._max_workers + 1  # and the delivery loop
    assert pool["max_size"] >= concurrency.request_threads() + deliveries
    assert concurrency.request_threads() >= 2 * threads  # people's slots and the agents'
    assert postgres_settings["CONN_MAX_AGE"] == 0
