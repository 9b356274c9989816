"""Forwarding the audit log to syslog (a SIEM), from the database, by cursor.

Off unless ``OPENSSPR_AUDIT_SYSLOG_URL`` is set. The worker calls ``forward_due``
beside deliveries (after the sealer), and ``opensspr audit forward`` calls
``forward_pending`` on demand. Either reads sealed events after the cursor
(``ForwardingCursor.last_seq``, a chain link) in chain order, sends them, and moves
the cursor only past what the receiver took: over UDP each datagram once it is
sent, over TCP and TLS a batch once it is written whole. The first failure stops
the run with the cursor where it is, so an outage loses nothing: the next run
sends the rest, in order. The price is at-least-once: a connection that breaks
after the receiver read part of a batch sends that part again (the SD's event id
lets a SIEM drop the repeat).

The payload is exactly the exported JSON of the event (``exports.event_record``),
so a SIEM gets the fields an export gives and nothing more; events never hold a
secret (``services.record_event`` refuses one). Warnings name the destination and
the reason, never an event's contents.
"""

import logging
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from django.conf import settings
from django.db.models import F, Q

from opensspr.audit import syslog
from opensspr.audit.activities import Activity
from opensspr.audit.exports import event_record
from opensspr.audit.models import AuditEvent, ChainHead, ForwardingCursor, Outcome
from opensspr.core import clock, metrics

logger = logging.getLogger("opensspr.audit.forwarding")

BATCH = 200
#: How often the worker looks for new events.
INTERVAL = timedelta(seconds=5)
#: After a failure the worker waits RETRY, doubled with each further failure up to
#: MAX_RETRY: it forwards inside the delivery loop, so a receiver that swallows
#: connections (a firewall dropping them) must not hold deliveries up every few seconds.
RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(minutes=5)
#: A forwarder that died holding the lease gives it up after this long.
LEASE = timedelta(minutes=2)
TIMEOUT = 5.0  # seconds for connecting and for each send
#: Someone was stopped: a SIEM should see these before mere failures.
_STOPPED = frozenset(
    {
        Activity.SIGNIN_LOCKED_OUT.value,
        Activity.RESET_BLOCKED.value,
        Activity.RESET_BUDGET_EXCEEDED.value,
        Activity.REGISTRATION_IDENTITY_BLOCKED.value,
    }
)


#: Where a run moves the cursor first: nowhere, before the oldest event held, or to the newest.
Restart = Literal["", "start", "now"]


@dataclass(frozen=True)
class Target:
    """Where and as whom to forward, from the deployment's settings."""

    destination: syslog.Destination
    origin: syslog.Origin
    ca_file: str


@dataclass(frozen=True)
class ForwardReport:
    ran: bool  # False: another forwarder holds the lease, or it isn't time yet
    forwarded: int
    last_seq: int
    waiting: int  # sealed events after the cursor once the run ended
    error: str  # why the run stopped early ("" when it didn't)


def configured_target() -> Target | None:
    """The forwarding target, or None when forwarding is off."""
    url = settings.OPENSSPR_AUDIT_SYSLOG_URL
    if not url:
        return None
    origin = syslog.Origin(
        facility=settings.OPENSSPR_AUDIT_SYSLOG_FACILITY,
        hostname=settings.OPENSSPR_AUDIT_SYSLOG_HOSTNAME or socket.gethostname(),
        procid=str(os.getpid()),
    )
    return Target(syslog.Destination.parse(url), origin, settings.OPENSSPR_AUDIT_SYSLOG_CA_FILE)


def severity_of(event: AuditEvent) -> syslog.Severity:
    """Warning when someone was stopped, notice for another failure, info for a success."""
    if event.activity in _STOPPED:
        return syslog.Severity.WARNING
    if event.outcome == Outcome.FAILURE:
        return syslog.Severity.NOTICE
    return syslog.Severity.INFO


def message_for(event: AuditEvent, target: Target) -> bytes:
    """The event as one RFC 5424 message: MSGID the activity, SD its id and chain link."""
    udp = target.destination.transport == "udp"
    return syslog.format_message(
        origin=target.origin,
        severity=severity_of(event),
        moment=event.occurred_at,
        msgid=event.activity,
        params={
            "eventID": str(event.pk),
            "chainSeq": str(event.chain_seq),
            "chainHash": event.chain_hash,
            "outcome": event.outcome,
        },
        payload=event_record(event),
        max_bytes=syslog.UDP_MAX_BYTES if udp else None,
    )


def forward_due() -> None:
    """The worker's periodic call: forward what is new, when it is time; nothing when off.

    Never raises: forwarding is optional, and the deliveries that share the loop
    must go on whatever happens to it (the cursor keeps what is left to send).
    """
    if configured_target() is None:
        return
    try:
        forward_pending(force=False)
    except Exception as exc:  # logged by class name: the next run tries again
        logger.error("audit forwarding run failed: %s", type(exc).__name__)


def forward_pending(
    *, force: bool = True, restart: Restart = "", max_events: int | None = 5000
) -> ForwardReport:
    """Forward sealed events after the cursor, in chain order, until caught up or stopped.

    ``force`` runs even if the worker's next run isn't due yet (the command).
    ``restart`` moves the cursor first: ``"start"`` to the oldest event held,
    ``"now"`` to the newest; the first run ever starts at the newest by itself.
    ``max_events`` bounds one run, so the worker's loop gets back to deliveries.
    """
    target = configured_target()
    if target is None:
        raise RuntimeError("audit forwarding is off: OPENSSPR_AUDIT_SYSLOG_URL is not set")
    now = clock.now()
    token = _claim(now, force=force)
    if token is None:
        seq = _cursor_seq()
        return ForwardReport(False, 0, seq, _waiting_after(seq), "")
    last_seq, forwarded, error, failures = 0, 0, "", 0
    try:
        cursor = ForwardingCursor.objects.get(pk=1)
        last_seq, failures = cursor.last_seq, cursor.failures  # as they stand under the lease
        if cursor.started_at is None or restart:
            last_seq = _start(token, now, from_start=restart == "start")
        forwarded, last_seq, error = _run(token, target, last_seq, max_events)
    finally:
        waiting = _waiting_after(last_seq)
        full = max_events is not None and forwarded >= max_events  # more is due at once
        _release(token, error=error, failures=failures + 1 if error else 0, more=full)
    _observe(last_seq, waiting)
    if error:
        metrics.AUDIT_FORWARD_FAILURES.inc()
        logger.warning(
            "audit forwarding to %s stopped after link %d: %s; %d events wait, retrying",
            target.destination,
            last_seq,
            error,
            waiting,
        )
    return ForwardReport(True, forwarded, last_seq, waiting, error)


def _run(token: str, target: Target, after: int, max_events: int | None) -> tuple[int, int, str]:
    """Send batches until caught up, ``max_events``, or the first failure: (sent, cursor, why)."""
    events = _batch_after(after, max_events)
    if not events:
        return 0, after, ""
    try:
        transport = syslog.connect(target.destination, timeout=TIMEOUT, ca_file=target.ca_file)
    except OSError as exc:
        return 0, after, syslog.describe(exc)
    forwarded = 0
    try:
        while events:
            error = ""
            try:
                transport.send([message_for(event, target) for event in events])
                sent = len(events)
            except syslog.SendError as exc:
                sent, error = exc.sent, str(exc)
            if sent:
                if not _advance(token, events[sent - 1], sent):
                    return forwarded + sent, after, "another forwarder took over (lease expired)"
                forwarded, after = forwarded + sent, events[sent - 1].chain_seq or after
            if error or (max_events is not None and forwarded >= max_events):
                return forwarded, after, error
            events = _batch_after(after, None if max_events is None else max_events - forwarded)
    finally:
        transport.close()
    return forwarded, after, ""


def _batch_after(seq: int, room: int | None) -> list[AuditEvent]:
    size = BATCH if room is None else min(BATCH, room)
    return list(AuditEvent.objects.filter(chain_seq__gt=seq).order_by("chain_seq")[:size])


def _claim(now: datetime, *, force: bool) -> str | None:
    """Take the lease with a conditional UPDATE; None if someone holds it (or not due)."""
    state = ForwardingCursor.objects.filter(pk=1).values_list("next_run_at", "lease_until").first()
    if state is None:
        ForwardingCursor.objects.get_or_create(pk=1)
    elif not force and state[0] is not None and state[0] > now:
        return None  # a cheap read first: the worker asks every second
    free = Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    query = ForwardingCursor.objects.filter(free, pk=1)
    if not force:
        query = query.filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
    token = secrets.token_hex(16)
    return token if query.update(lease_token=token, lease_until=now + LEASE) else None


def _start(token: str, now: datetime, *, from_start: bool) -> int:
    """Put the cursor at the newest sealed event, or before the oldest one held."""
    head = ChainHead.objects.filter(pk=1).first()
    seq = 0 if head is None else (head.anchor_seq if from_start else head.seq)
    ForwardingCursor.objects.filter(pk=1, lease_token=token).update(
        last_seq=seq, last_event_id=None, started_at=now
    )
    return seq


def _advance(token: str, last: AuditEvent, sent: int) -> bool:
    """Record that the receiver took everything up to ``last``; False if the lease was lost."""
    now = clock.now()
    moved = ForwardingCursor.objects.filter(pk=1, lease_token=token).update(
        last_seq=last.chain_seq,
        last_event_id=last.pk,
        last_success_at=now,
        forwarded_total=F("forwarded_total") + sent,
        lease_until=now + LEASE,
    )
    metrics.AUDIT_FORWARDED.inc(sent)
    return moved == 1


def _release(token: str, *, error: str, failures: int, more: bool) -> None:
    """Give the lease back and say when the worker should run next."""
    now = clock.now()
    if error:
        pause = min(RETRY * 2 ** min(failures - 1, 10), MAX_RETRY)
    else:
        pause = timedelta(0) if more else INTERVAL  # more: a bounded run left events behind
    fields: dict[str, object] = {
        "lease_token": "",
        "lease_until": None,
        "next_run_at": now + pause,
        "last_error": error[:200],
        "failures": failures,
    }
    if error:
        fields["last_error_at"] = now
    ForwardingCursor.objects.filter(pk=1, lease_token=token).update(**fields)


def _cursor_seq() -> int:
    seq = ForwardingCursor.objects.filter(pk=1).values_list("last_seq", flat=True).first()
    return seq or 0


def _waiting_after(seq: int) -> int:
    """Sealed events after ``seq``: links are contiguous, so the head tells without a count."""
    head = ChainHead.objects.filter(pk=1).values_list("seq", flat=True).first()
    return max(0, (head or 0) - seq)


def _observe(seq: int, waiting: int) -> None:
    oldest = (
        AuditEvent.objects.filter(chain_seq__gt=seq)
        .order_by("chain_seq")
        .values_list("occurred_at", flat=True)
        .first()
    )
    age = (clock.now() - oldest).total_seconds() if oldest else 0.0
    metrics.AUDIT_FORWARD_LAG_EVENTS.set(waiting)
    metrics.AUDIT_FORWARD_LAG_SECONDS.set(max(0.0, age))


@dataclass(frozen=True)
class ForwardingStatus:
    """Where forwarding stands, from the database: right whichever process forwards."""

    destination: str  # "" when forwarding is off
    started: bool
    last_seq: int
    waiting: int
    last_success_at: datetime | None
    last_error: str
    last_error_at: datetime | None


def get_status() -> ForwardingStatus:
    """For ``opensspr audit forward --status`` (and a console page that wants to show it)."""
    cursor = ForwardingCursor.objects.filter(pk=1).first() or ForwardingCursor(pk=1)
    started = cursor.started_at is not None
    return ForwardingStatus(
        destination=settings.OPENSSPR_AUDIT_SYSLOG_URL,
        started=started,
        last_seq=cursor.last_seq,
        waiting=_waiting_after(cursor.last_seq) if started else 0,
        last_success_at=cursor.last_success_at,
        last_error=cursor.last_error,
        last_error_at=cursor.last_error_at,
    )
