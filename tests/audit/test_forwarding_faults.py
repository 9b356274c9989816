"""Fault F16 of the security bar: the audit sink (the syslog receiver) is unavailable.

The database row stays the audit log, written in the step's own transaction; shipping it
to syslog buffers (the cursor), alerts (a warning, a metric, the status), and never
blocks a step, a delivery, or the audit row itself.
"""

import logging
import socket
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from opensspr.audit import forwarding
from opensspr.audit.activities import Activity
from opensspr.audit.chain import seal_pending
from opensspr.audit.forwarding import forward_pending, get_status
from opensspr.audit.models import AuditEvent, ForwardingCursor, Outcome
from opensspr.audit.services import record_event
from opensspr.channels import deliver_due
from tests.audit.receivers import StreamReceiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver_down(settings) -> str:
    receiver = StreamReceiver()
    receiver.stop()
    settings.OPENSSPR_AUDIT_SYSLOG_URL = receiver.url
    return receiver.url


@pytest.fixture
def silent_listener(settings) -> Iterator[socket.socket]:
    """A receiver that accepts connections and then says nothing: no TLS handshake, ever."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    settings.OPENSSPR_AUDIT_SYSLOG_URL = f"tls://127.0.0.1:{listener.getsockname()[1]}"
    try:
        yield listener
    finally:
        listener.close()


def test_a_siem_down_blocks_no_step_and_drops_no_audit_row(
    receiver_down, client, user_factory, caplog, clock
):
    user_factory("kim@contoso.example")
    forward_pending()  # forwarding was on before the outage
    failures_before = REGISTRY.get_sample_value("opensspr_audit_forward_failures_total") or 0

    response = client.post("/signin", {"user_id": "kim@contoso.example", "password": "wrong"})
    assert response.status_code == 200  # the step answered as always
    event = AuditEvent.objects.get(activity="signin.failed")  # and its audit row is there

    clock.advance(seconds=6)  # the worker's next look
    with caplog.at_level(logging.WARNING, logger="opensspr.audit.forwarding"):
        deliver_due()  # the worker's loop: seals, fails to forward, and goes on
    event.refresh_from_db()
    assert event.chain_seq is not None  # sealed all the same
    status = get_status()
    assert status.waiting >= 1 and "Connection refused" in status.last_error
    alerts = [r.getMessage() for r in caplog.records if r.name == "opensspr.audit.forwarding"]
    assert alerts and all(a.startswith("audit forwarding to") for a in alerts)
    assert not [a for a in alerts if "kim@contoso.example" in a or "signin" in a]  # no contents
    failures = REGISTRY.get_sample_value("opensspr_audit_forward_failures_total") or 0
    assert failures == failures_before + 1


def test_a_receiver_that_never_answers_times_out_and_keeps_the_cursor(
    silent_listener, meta, monkeypatch
):
    monkeypatch.setattr(forwarding, "TIMEOUT", 0.5)  # the same path as 5 s, sooner
    forward_pending()
    record_event(activity=Activity.SIGNIN_FAILED, outcome=Outcome.FAILURE, meta=meta)
    seal_pending()
    report = forward_pending()
    assert (report.forwarded, report.error) == (0, "timed out")
    assert ForwardingCursor.objects.get(pk=1).last_seq == 0
