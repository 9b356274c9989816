"""A real ``opensspr worker`` process killed (SIGKILL) while a real SMTP server stalls.

Issue 12 item 8: the notification it held must still reach the person. The
worker runs as its own process on the test database, so this needs a database
two processes share (PostgreSQL; the embedded suite's SQLite lives in memory).
The SMTP server is aiosmtpd, holding the DATA command until the worker is dead.
"""

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

from opensspr.channels import Message, MessageStatus, deliver_due, enqueue_message
from opensspr.channels.conf import CLAIM_LEASE
from opensspr.core import clock
from tests.channels.conftest import free_port, outgoing, smtp_mailers

SECONDS = 30  # the most any wait here takes


@dataclass
class StallingHandler:
    """Holds every DATA until ``release`` is set; records arrivals and accepted mails."""

    release: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Event = field(default_factory=threading.Event)
    accepted: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.arrived.set()
        while not self.release.is_set():
            await asyncio.sleep(0.05)
        self.accepted.append(list(envelope.rcpt_tos))
        return "250 OK"


@pytest.fixture
def stalling_smtp(settings: Any) -> Iterator[tuple[StallingHandler, int]]:
    handler = StallingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = smtp_mailers(port)
    try:
        yield handler, port
    finally:
        handler.release.set()
        controller.stop()


def _worker(port: int) -> subprocess.Popen[bytes]:
    """``opensspr worker`` in its own process, on this test's database and SMTP server."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "opensspr.config.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "OPENSSPR_DELIVERY_MODE": "worker",
        "OPENSSPR_SMTP_HOST": "127.0.0.1",
        "OPENSSPR_SMTP_PORT": str(port),
        "OPENSSPR_SMTP_SECURITY": "none",
    }
    command = [sys.executable, "-m", "opensspr", "worker", "--no-sync", "--interval", "0.1"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.django_db(transaction=True)
def test_a_notification_held_by_a_worker_killed_mid_send_is_sent_again(
    configure, stalling_smtp, meta, worker_mode
):
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs a database it can share (PostgreSQL)")
    handler, port = stalling_smtp
    configure(email="smtp")
    message = enqueue_message(outgoing(purpose="reset.notification"), meta=meta)
    worker = _worker(port)
    try:
        arrived = handler.arrived.wait(SECONDS)
        assert arrived, worker.stderr.read().decode() if worker.poll() is not None else "stuck"
        worker.send_signal(signal.SIGKILL)  # mid-send: the server holds its DATA
    finally:
        worker.kill()
        worker.wait(SECONDS)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENDING and message.attempts == 1
    assert handler.accepted == []

    handler.release.set()
    clock.freeze(clock.now() + CLAIM_LEASE)  # the dead worker's lease ran out
    assert deliver_due() == 1  # the reclaim path, then the send, as any worker runs them

    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 2
    assert any(message.recipient in recipients for recipients in handler.accepted)
    assert not Message.objects.exclude(status=MessageStatus.SENT).exists()
