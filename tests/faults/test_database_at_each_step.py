"""F11: the database stops answering in the middle of a reset, at each step in turn.

Another connection holds the write lock (SQLite) or an exclusive table lock (PostgreSQL),
as a long write, a restart or a failover does. The step answers 503 problem+json with the
correlation id; nothing of it is half done (the flow is where it was, its handle still
works, no message went out); once the database answers again the same request succeeds,
and no notification is lost or doubled.
"""

import functools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection

from opensspr.channels.models import Message
from opensspr.resets.models import ResetFlow
from tests.api.conftest import NEW_PASSWORD, delivered_code, solved_captcha

pytestmark = pytest.mark.django_db(transaction=True)
EMAIL = "jan@mail.example"
STEPS = ("start", "choose", "send_code", "verify", "new_password")


@contextmanager
def database_stalled() -> Iterator[None]:
    """Hold the lock a write needs from another connection; give up waiting after 0.3 s."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = 300")
        name = settings["NAME"]
        holder = sqlite3.connect(name, uri=name.startswith("file:"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE django_session SET expire_date = expire_date")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA busy_timeout = 20000")
        return
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '300ms'")
    holder = psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=False,
    )
    holder.execute(
        "LOCK TABLE resets_resetflow, channels_message, audit_auditevent, throttles_subject "
        "IN ACCESS EXCLUSIVE MODE"
    )
    try:
        yield
    finally:
        holder.rollback()
        holder.close()
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")


def _steps(api) -> dict[str, Callable[[str], object]]:
    return {
        "start": lambda _h: api.post(
            "/resets", {"user_id": "jan@contoso.example", "captcha": solved_captcha()}
        ),
        "choose": lambda h: api.post("/resets/current/operation", {"operation": "reset"}, handle=h),
        "send_code": lambda h: api.post(
            "/resets/current/verification", {"method": "email", "contact": EMAIL}, handle=h
        ),
        "verify": lambda h: api.post(
            "/resets/current/verification/answer", {"answer": delivered_code(EMAIL)}, handle=h
        ),
        "new_password": lambda h: api.post(
            "/resets/current/password", {"new_password": NEW_PASSWORD}, handle=h
        ),
    }


def _answer(api, code: str, handle: str):
    return api.post("/resets/current/verification/answer", {"answer": code}, handle=handle)


def _snapshot() -> tuple:
    flows = tuple(ResetFlow.objects.order_by("pk").values_list("state", "version"))
    return flows, Message.objects.count()


@pytest.mark.parametrize("failing", STEPS)
def test_a_stalled_database_at_each_step_changes_nothing_and_the_step_can_be_retried(
    api, jan, failing
):
    steps = _steps(api)
    handle = ""
    for name in STEPS:
        if name == failing:
            before = _snapshot()
            # "verify" reads the code from the outbox first: read it before the stall.
            call = steps[name]
            if name == "verify":
                code = delivered_code(EMAIL)
                before = _snapshot()
                call = functools.partial(_answer, api, code)
            with database_stalled():
                refused = call(handle)
            assert refused.status == 503, refused.body
            assert refused.body["code"] == "service_unavailable"
            assert refused.body["correlation_id"] == refused.headers["X-Request-ID"]
            assert _snapshot() == before  # nothing half done, nothing sent
            response = call(handle)  # the same request, once the database answers
        else:
            response = steps[name](handle)
        assert response.status in (200, 201), (name, response.body)
        handle = response.body["handle"]
    assert response.body["state"] == "done"
    codes = Message.objects.filter(recipient=EMAIL, purpose__startswith="reset.code")
    notes = Message.objects.filter(recipient=EMAIL, purpose="reset.notification")
    assert codes.count() == 1
    assert notes.count() == 1
