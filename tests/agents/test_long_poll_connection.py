"""A waiting agent's long poll holds no database connection between its reads.

It waits up to 25 s for work; on PostgreSQL each worker lends its requests a small
pool of connections, and a poll that kept one all along left one fewer for people.
"""

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import AsyncClient

from opensspr.agents import jobs, services
from opensspr.core.request_meta import RequestMeta
from opensspr.directory.sealing import new_private_key, public_key_text
from tests.concurrency import needs_concurrent_writers


@pytest.mark.django_db(transaction=True)
def test_a_waiting_poll_gives_its_connection_back_between_reads(monkeypatch):
    needs_concurrent_writers()  # SQLite's in-memory test database ignores a close
    meta = RequestMeta("192.0.2.10", "pytest", "poll")
    token = services.create_agent(name="dc", actor=None, meta=meta).token
    enrolled = services.enrol(
        token=token,
        public_key=public_key_text(new_private_key()),
        version="0.1",
        host="dc",
        meta=meta,
    )
    held_at_each_read: list[bool] = []
    lease = jobs.lease

    def watched(agent):
        held_at_each_read.append(connection.connection is not None)
        return lease(agent)

    monkeypatch.setattr(jobs, "lease", watched)

    async def poll():
        return await AsyncClient().post(
            "/agent/v1/jobs/next?wait=2.5",
            headers={"authorization": f"Agent {enrolled.credential}"},
        )

    response = async_to_sync(poll)()
    assert response.status_code == 204  # nothing to do
    assert len(held_at_each_read) >= 2  # read at once, then at least once a second
    assert not any(held_at_each_read)
