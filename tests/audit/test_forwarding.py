"""Syslog forwarding against real receivers on loopback: UDP, TCP and TLS.

What a SIEM receives (RFC 5424, the exported JSON), how it is framed, and that an
outage in between loses nothing and sends nothing twice: the cursor moves only
past what the receiver took.
"""

import json
import logging
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from prometheus_client import REGISTRY

from opensspr.audit.activities import Activity
from opensspr.audit.chain import seal_pending
from opensspr.audit.exports import jsonl_rows
from opensspr.audit.forwarding import LEASE, forward_pending
from opensspr.audit.models import AuditEvent, ForwardingCursor, Outcome
from opensspr.audit.services import record_event
from opensspr.channels import deliver_due
from opensspr.core.request_meta import RequestMeta
from opensspr.demo.certs import issue
from tests.audit.receivers import StreamReceiver, UdpReceiver, parse_rfc5424
from tests.concurrency import needs_concurrent_writers, race

pytestmark = pytest.mark.django_db


def _record(meta: RequestMeta, count: int = 1, **fields: object) -> list[AuditEvent]:
    values: dict = {"activity": Activity.SIGNIN_FAILED, "outcome": Outcome.FAILURE} | fields
    reason = values.pop("reason", "wrong")
    events = [record_event(meta=meta, **values, reason=f"{reason}_{n}") for n in range(count)]
    seal_pending()
    return [AuditEvent.objects.get(pk=event.pk) for event in events]


def _exported(event: AuditEvent) -> object:
    return json.loads(next(jsonl_rows([event])))


def _seqs(frames: list[bytes]) -> list[int]:
    return [int(parse_rfc5424(frame).params["chainSeq"]) for frame in frames]


@pytest.fixture
def forwarding_to(settings):
    def point(url: str, ca_file: str = "") -> None:
        settings.OPENSSPR_AUDIT_SYSLOG_URL = url
        settings.OPENSSPR_AUDIT_SYSLOG_CA_FILE = ca_file
        settings.OPENSSPR_AUDIT_SYSLOG_HOSTNAME = "sspr-test.example.org"

    return point


@pytest.fixture
def udp(forwarding_to) -> Iterator[UdpReceiver]:
    receiver = UdpReceiver()
    forwarding_to(receiver.url)
    yield receiver
    receiver.close()


@pytest.fixture
def tcp(forwarding_to) -> Iterator[StreamReceiver]:
    receiver = StreamReceiver()
    forwarding_to(receiver.url)
    yield receiver
    receiver.stop()


@pytest.fixture
def certificates(tmp_path):
    trusted = issue(tmp_path / "trusted", "localhost", ip_addresses=["127.0.0.1"])
    other = issue(tmp_path / "other", "localhost", ip_addresses=["127.0.0.1"])
    return trusted, other


def _tls_receiver(issued) -> StreamReceiver:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert_file, issued.key_file)
    return StreamReceiver(context)


def test_udp_delivers_rfc5424_with_the_exported_json(udp, meta, clock):
    forward_pending()  # the first run starts at the newest event: none yet
    success = _record(meta, activity=Activity.RESET_COMPLETED, outcome=Outcome.SUCCESS)[0]
    failure = _record(meta, details={"method": "email", "note": 'quote " and ] bracket'})[0]
    blocked = _record(meta, activity=Activity.RESET_BLOCKED, reason="verify_failure")[0]
    report = forward_pending()
    assert (report.forwarded, report.error, report.waiting) == (3, "", 0)
    received = [parse_rfc5424(datagram) for datagram in udp.receive(3)]
    assert udp.nothing_more()
    for message, event in zip(received, [success, failure, blocked], strict=True):
        assert message.version == "1"
        assert message.timestamp == "2026-11-23T09:00:00.000000Z"  # the event's time, UTC
        assert (message.hostname, message.app_name) == ("sspr-test.example.org", "opensspr")
        assert message.procid == str(os.getpid())
        assert message.msgid == event.activity
        assert message.sd_id == "opensspr@32473"
        assert message.params == {
            "eventID": str(event.pk),
            "chainSeq": str(event.chain_seq),
            "chainHash": event.chain_hash,
            "outcome": event.outcome,
        }
        assert message.payload == _exported(event)  # exactly the export's fields
    # authpriv (10): info for a success, notice for a failure, warning when someone was stopped
    assert [m.pri for m in received] == [10 * 8 + 6, 10 * 8 + 5, 10 * 8 + 4]


def test_the_facility_is_configurable(udp, meta, settings):
    settings.OPENSSPR_AUDIT_SYSLOG_FACILITY = 16  # local0
    forward_pending()
    _record(meta)
    forward_pending()
    assert parse_rfc5424(udp.receive(1)[0]).pri == 16 * 8 + 5


def test_udp_never_splits_a_large_event_and_cuts_its_details(udp, meta):
    forward_pending()
    event = _record(meta, details={"fields": ["x" * 100] * 60})[0]
    forward_pending()
    (datagram,) = udp.receive(1)
    assert len(datagram) <= 2048
    payload = parse_rfc5424(datagram).payload
    assert payload["truncated"] is True and payload["details"] == {}
    assert payload["chain_hash"] == event.chain_hash


def test_tcp_frames_are_octet_counted_and_in_chain_order(tcp, meta):
    forward_pending()
    events = _record(meta, 5, details={"note": "two\nlines"})
    assert forward_pending().forwarded == 5
    frames = tcp.wait_for(5)
    assert len(tcp.streams) == 1  # one connection, five frames
    assert _seqs(frames) == [event.chain_seq for event in events]
    assert [parse_rfc5424(frame).payload for frame in frames] == [_exported(e) for e in events]


def test_an_outage_loses_nothing_and_sends_each_event_once_in_order(
    forwarding_to, meta, clock, caplog
):
    receiver = StreamReceiver()
    forwarding_to(receiver.url)
    forward_pending()
    _record(meta, 3)
    assert forward_pending().forwarded == 3
    first = receiver.wait_for(3)
    receiver.stop()  # the SIEM goes down

    _record(meta, 4, reason="during_outage")
    with caplog.at_level(logging.WARNING, logger="opensspr.audit.forwarding"):
        report = forward_pending()
    assert report.forwarded == 0 and "ConnectionRefusedError" in report.error
    assert report.waiting == 4
    cursor = ForwardingCursor.objects.get(pk=1)
    assert cursor.last_seq == 3 and "Connection refused" in cursor.last_error
    warning = caplog.records[-1].getMessage()
    assert "stopped after link 3" in warning and "4 events wait" in warning
    assert "during_outage" not in caplog.text  # no event contents in the log
    assert not forward_pending(force=False).ran  # the worker waits before it tries again

    receiver = StreamReceiver(port=receiver.port)  # the SIEM is back
    clock.advance(seconds=31)
    report = forward_pending(force=False)
    assert (report.forwarded, report.last_seq, report.error) == (4, 7, "")
    second = receiver.wait_for(4)
    receiver.stop()
    assert _seqs(first + second) == [1, 2, 3, 4, 5, 6, 7]  # every event once, in order
    assert ForwardingCursor.objects.get(pk=1).last_error == ""


def test_retries_back_off_while_the_receiver_stays_down(forwarding_to, meta, clock):
    receiver = StreamReceiver()
    receiver.stop()
    forwarding_to(receiver.url)
    forward_pending()
    _record(meta)

    def pause() -> timedelta:
        forward_pending()
        return ForwardingCursor.objects.get(pk=1).next_run_at - clock.now

    assert [pause().total_seconds() for _ in range(6)] == [30, 60, 120, 240, 300, 300]
    receiver = StreamReceiver(port=receiver.port)
    assert pause() == timedelta(seconds=5)  # back to the usual pace
    receiver.stop()
    assert ForwardingCursor.objects.get(pk=1).failures == 0


def test_tls_delivers_to_a_receiver_the_ca_file_vouches_for(forwarding_to, certificates, meta):
    trusted, _other = certificates
    receiver = _tls_receiver(trusted)
    forwarding_to(receiver.url, str(trusted.ca_file))
    forward_pending()
    events = _record(meta, 2)
    assert forward_pending().forwarded == 2
    frames = receiver.wait_for(2)
    receiver.stop()
    assert [parse_rfc5424(frame).payload for frame in frames] == [_exported(e) for e in events]


@pytest.mark.parametrize("which_ca", ["another CA", "the system store"])
def test_tls_refuses_a_receiver_whose_certificate_is_not_trusted(
    forwarding_to, certificates, meta, which_ca
):
    trusted, other = certificates
    receiver = _tls_receiver(trusted)
    forwarding_to(receiver.url, str(other.ca_file) if which_ca == "another CA" else "")
    forward_pending()
    _record(meta, 2)
    report = forward_pending()
    receiver.wait_for_failure()
    receiver.stop()
    assert report.forwarded == 0 and report.error.startswith("certificate not trusted")
    assert receiver.frames() == []  # nothing went out in clear instead
    assert ForwardingCursor.objects.get(pk=1).last_seq == 0


def test_tls_refuses_a_trusted_certificate_for_another_host(forwarding_to, tmp_path, meta):
    issued = issue(tmp_path, "syslog.example.org")  # no 127.0.0.1 in it
    receiver = _tls_receiver(issued)
    forwarding_to(receiver.url, str(issued.ca_file))
    forward_pending()
    _record(meta)
    report = forward_pending()
    receiver.stop()
    assert "certificate not trusted" in report.error and "mismatch" in report.error


def test_the_worker_loop_forwards_every_few_seconds(udp, meta, clock):
    deliver_due()  # first run: the cursor starts at the newest event
    record_event(activity=Activity.SIGNIN_FAILED, outcome=Outcome.FAILURE, meta=meta)
    clock.advance(seconds=6)
    deliver_due()  # seals, then forwards
    first = parse_rfc5424(udp.receive(1)[0])
    assert first.msgid == "signin.failed"
    record_event(activity=Activity.SIGNIN_SUCCEEDED, outcome=Outcome.SUCCESS, meta=meta)
    deliver_due()  # sealed, but forwarding isn't due yet
    assert udp.nothing_more()
    clock.advance(seconds=6)
    deliver_due()
    assert parse_rfc5424(udp.receive(1)[0]).msgid == "signin.succeeded"


@pytest.mark.django_db(transaction=True)
def test_an_opensspr_worker_process_configured_by_environment_forwards(clock):
    """The real command, its settings from the environment, on a database both share."""
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs a database it can share (PostgreSQL)")
    receiver = StreamReceiver()
    ForwardingCursor.objects.create(pk=1, started_at=clock.now)  # enabled before the events
    for n in range(3):
        record_event(
            activity=Activity.SIGNIN_FAILED,
            outcome=Outcome.FAILURE,
            meta=RequestMeta("192.0.2.9", "worker", f"worker-{n}"),
        )
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "opensspr.config.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "OPENSSPR_AUDIT_SYSLOG_URL": receiver.url,
        "OPENSSPR_AUDIT_SYSLOG_FACILITY": "17",
    }
    command = [sys.executable, "-m", "opensspr", "worker", "--once", "--no-sync"]
    done = subprocess.run(command, env=env, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()
    frames = receiver.wait_for(3)
    receiver.stop()
    assert _seqs(frames) == [1, 2, 3]
    assert {parse_rfc5424(frame).pri for frame in frames} == {17 * 8 + 5}
    assert ForwardingCursor.objects.get(pk=1).last_seq == 3


def test_the_first_run_starts_at_the_newest_event_unless_from_start(udp, meta, capsys):
    _record(meta, 2)
    call_command("audit", "forward")
    assert "Forwarded 0 audit events" in capsys.readouterr().out
    _record(meta)
    call_command("audit", "forward")
    assert _seqs(udp.receive(1)) == [3]
    call_command("audit", "forward", "--from-start")
    assert "Forwarded 3 audit events" in capsys.readouterr().out.splitlines()[-1]
    assert _seqs(udp.receive(3)) == [1, 2, 3]
    _record(meta, 2)
    call_command("audit", "forward", "--from-now")
    assert udp.nothing_more()


def test_the_command_fails_while_the_receiver_is_down_and_status_says_why(
    forwarding_to, meta, capsys
):
    receiver = StreamReceiver()
    receiver.stop()
    forwarding_to(receiver.url)
    call_command("audit", "forward", "--status")
    assert "hasn't run yet" in capsys.readouterr().out
    forward_pending()
    _record(meta, 2)
    with pytest.raises(CommandError, match=r"then stopped: .*2 events wait after link 0"):
        call_command("audit", "forward")
    call_command("audit", "forward", "--status")
    out = capsys.readouterr().out
    assert f"Forwarding to {receiver.url}: at link 0, 2 events wait" in out
    assert "Last error" in out and "Connection refused" in out
    assert AuditEvent.objects.count() == 2  # the status sent nothing and recorded nothing


def test_the_command_says_when_forwarding_is_off(settings):
    settings.OPENSSPR_AUDIT_SYSLOG_URL = ""
    with pytest.raises(CommandError, match="OPENSSPR_AUDIT_SYSLOG_URL"):
        call_command("audit", "forward")
    deliver_due()  # the worker's call does nothing, quietly
    assert not ForwardingCursor.objects.exists()


def test_a_held_lease_keeps_a_second_forwarder_out_until_it_expires(udp, meta, clock):
    forward_pending()
    _record(meta)
    ForwardingCursor.objects.filter(pk=1).update(
        lease_token="someone-else", lease_until=clock.now + LEASE
    )
    assert not forward_pending().ran
    assert udp.nothing_more()
    clock.advance(minutes=3)  # that forwarder died: its lease runs out
    assert forward_pending().forwarded == 1
    assert _seqs(udp.receive(1)) == [1]


@pytest.mark.django_db(transaction=True)
def test_parallel_forwarders_send_each_event_once(forwarding_to):
    """Four forwarders at once on PostgreSQL: the lease lets one send, the others stand back."""
    needs_concurrent_writers()
    receiver = StreamReceiver()
    forwarding_to(receiver.url)
    forward_pending()
    _record(RequestMeta("192.0.2.1", "race", "race"), 40)
    reports = race(*[forward_pending for _ in range(4)])
    assert not [r for r in reports if isinstance(r, BaseException)], reports
    forward_pending()  # whatever a forwarder that stood back left
    frames = receiver.wait_for(40)
    receiver.stop()
    assert _seqs(frames) == list(range(1, 41))


def test_pruning_keeps_what_syslog_has_not_received(forwarding_to, meta, clock, capsys):
    receiver = StreamReceiver()
    forwarding_to(receiver.url)
    forward_pending()
    _record(meta, 2)
    forward_pending()
    receiver.stop()
    _record(meta, 2)
    forward_pending()  # fails: the receiver is down
    clock.advance(days=400)
    call_command("audit", "prune")
    assert "Events after link 2 wait for syslog and were kept (2 of them)." in (
        capsys.readouterr().out
    )
    assert sorted(AuditEvent.objects.values_list("chain_seq", flat=True)) == [3, 4]
    call_command("audit", "verify")


def test_metrics_count_what_was_forwarded_and_the_lag(tcp, meta):
    def sample(name: str) -> float:
        return REGISTRY.get_sample_value(name) or 0.0

    forward_pending()
    before = sample("opensspr_audit_forwarded_total")
    _record(meta, 3)
    forward_pending(max_events=2)  # a run bounded short of the end
    assert sample("opensspr_audit_forward_lag_events") == 1
    forward_pending()
    assert sample("opensspr_audit_forwarded_total") - before == 3
    assert sample("opensspr_audit_forward_lag_events") == 0
    assert sample("opensspr_audit_forward_lag_seconds") == 0
