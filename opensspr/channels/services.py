"""Queue a message in the caller's transaction; deliver queued messages. The outbox's writers.

Guarantees (security bar §3.2 rule 5, F7, F8):

* **Never lost**: the row is written in the caller's transaction, before any
  side effect. If the caller rolls back, nothing is queued and nothing is sent.
* **Never sent twice**: one row per idempotency key; a row is sent only by the
  worker (or request) that moved it from ``pending`` to ``sending`` with a
  conditional UPDATE; a send whose outcome is unknown is never repeated unless
  the channel deduplicates on our key (see ``base.py``).
* **Never sent late**: a message is dropped once ``expires_at`` has passed
  (a code that expired is worthless and confusing).
* **Bodies are transient**: sealed at rest and erased once the message reached
  a final state (the outbox channel keeps it readable for a retention period).

Every outcome is an audit event (``delivery.*``) carrying kind, purpose, channel,
masked recipient and attempt number, never a body or token.
"""

import logging
import re
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial

from django.db import connection, transaction
from django.utils import translation

from opensspr.accounts.selectors import get_organisation
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.channels import conf
from opensspr.channels.base import MessageKind, OutgoingMessage
from opensspr.channels.delivery import (
    Resolved,
    claim_next_with_channel,
    claim_one,
    deliver_claimed,
    message_details,
    resolve_channel,
    worker_meta,
)
from opensspr.channels.housekeeping import run_housekeeping
from opensspr.channels.masking import mask_recipient
from opensspr.channels.models import Message
from opensspr.core import clock
from opensspr.core.crypto import seal
from opensspr.core.prepared import insert, insert_unless_taken
from opensspr.core.request_meta import RequestMeta

logger = logging.getLogger(__name__)

_E164 = re.compile(r"\+[1-9]\d{6,14}")
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TOKEN = re.compile(r"[A-Za-z0-9_\-.~]{8,200}")
_PURPOSE = re.compile(r"[a-z0-9_.\-]{1,64}")
_MAX_KEY = 200


class InvalidMessageError(ValueError):
    """The caller built a message that must not be sent (a bug, not a user error)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _check(message: OutgoingMessage) -> None:
    kind = MessageKind(message.kind)
    if not _PURPOSE.fullmatch(message.purpose):
        raise InvalidMessageError("invalid_purpose")
    if kind == MessageKind.EMAIL:
        if not _EMAIL.fullmatch(message.to) or len(message.to) > 254:
            raise InvalidMessageError("invalid_email_address")
        if _CONTROL.search(message.subject) or len(message.subject) > 255:
            raise InvalidMessageError("invalid_subject")  # no header injection, ever
    elif not _E164.fullmatch(message.to):
        raise InvalidMessageError("invalid_phone_number")
    if kind == MessageKind.VOICE:
        if not _TOKEN.fullmatch(message.voice_callback_token):
            raise InvalidMessageError("invalid_voice_callback_token")
    elif not message.body:
        raise InvalidMessageError("empty_body")
    if message.expires_at is not None and message.expires_at.tzinfo is None:
        raise InvalidMessageError("naive_expiry")


def with_closing(body: str, closing: str) -> str:
    """An email's body with the organisation's closing words under a signature line."""
    closing = closing.strip()
    return f"{body}\n\n-- \n{closing}" if closing else body


def enqueue_message(message: OutgoingMessage, *, meta: RequestMeta) -> Message:
    """Queue ``message``; call inside the transaction that decides it must be sent.

    Queuing the same ``idempotency_key`` again is a no-op that returns the row
    already queued. In inline mode (the embedded default) the message is sent
    right after the caller's transaction commits, and never if it rolls back;
    in worker mode ``opensspr worker`` sends it.
    """
    _check(message)
    if message.kind == MessageKind.EMAIL:  # the organisation's closing words, on every email
        message = replace(
            message, body=with_closing(message.body, get_organisation().email_closing)
        )
    key = message.idempotency_key or f"auto:{secrets.token_hex(16)}"
    if len(key) > _MAX_KEY:
        raise InvalidMessageError("idempotency_key_too_long")
    # No read ahead for the key: most keys are fresh (random parts). A key that may repeat
    # is inserted unless taken (``ON CONFLICT DO NOTHING``), and a taken one returns the
    # row already queued: no savepoint (two round trips on PostgreSQL) around the insert.
    fresh = message.fresh_key or not message.idempotency_key
    now = clock.now()
    kind = MessageKind(message.kind)
    # The queue row and its event commit together (a transaction of their own when the
    # caller has none); a repeated key writes neither.
    with transaction.atomic(savepoint=False):
        row = Message(
            kind=kind,
            purpose=message.purpose,
            recipient=message.to,
            recipient_masked=mask_recipient(kind, message.to),
            subject=message.subject,
            body_sealed=seal(message.body) if message.body else "",
            voice_prompt=message.voice_prompt,
            voice_callback_token_sealed=(
                seal(message.voice_callback_token) if message.voice_callback_token else ""
            ),
            language=_current_language(),
            idempotency_key=key,
            correlation_id=(message.correlation_id or meta.correlation_id)[:64],
            next_attempt_at=now,
            expires_at=message.expires_at,
            created_at=now,
        )
        if fresh:
            insert([row])  # a save, its INSERT made once (core/prepared.py)
        elif not insert_unless_taken(row):  # the same key, queued before or concurrently
            return Message.objects.get(idempotency_key=key)
        record_event(
            activity=Activity.DELIVERY_QUEUED,
            outcome=Outcome.SUCCESS,
            meta=meta,
            details=message_details(row),
        )
    if conf.delivery_mode() == conf.INLINE:
        transaction.on_commit(partial(_deliver_after_commit, row.pk, kind, meta), robust=True)
    return row


_background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="opensspr-inline")
#: Inline sends handed to the two background threads and not finished (those being sent
#: included), at most. Past it a message waits in the database for the delivery loop,
#: which runs each second beside the requests in every process ``opensspr serve``
#: starts in inline mode: a burst of codes, or a provider that answers slowly, can't
#: grow the process's memory without bound, and nothing is lost either way.
INLINE_BACKLOG = 200
#: Set in a process whose delivery loop runs (``worker.start_background_worker``): only
#: there may a message be left to it. Elsewhere (another server, a test) each goes inline.
delivery_loop_running = threading.Event()


class _Backlog:
    """The inline sends handed to the background threads and not finished yet. Filling up
    is logged once; once it is down to half, how many messages it turned away is logged
    and the next fill is logged again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0
        self.turned_away = 0

    def enter(self) -> bool:
        with self._lock:
            if self.count < INLINE_BACKLOG:
                self.count += 1
                return True
            self.turned_away += 1
            first = self.turned_away == 1
        if first:
            logger.warning(
                "inline delivery: %d sends waiting already; further messages wait for the "
                "delivery loop",
                INLINE_BACKLOG,
            )
        return False

    def leave(self) -> None:
        with self._lock:
            self.count -= 1
            turned_away = self.turned_away if self.count <= INLINE_BACKLOG // 2 else 0
            if turned_away:
                self.turned_away = 0
        if turned_away:
            logger.warning(
                "inline delivery: the backlog is down to half; %d messages went to the "
                "delivery loop meanwhile",
                turned_away,
            )


_backlog = _Backlog()
#: A run of the registered work is waiting for a background thread: another commit asking
#: for one needn't queue a second (the waiting run will see its rows, and the delivery
#: loop, each second, what is past one run's batch).
_due_work_waiting = threading.Event()
_due_work: list[Callable[[], object]] = []


def register_due_work(work: Callable[[], object]) -> None:
    """Add queued work of another app that runs beside deliveries, never in a request.

    For work whose cost would show who a request was about (a fan-out to every
    administrator, attack A1): the request only writes a row, and ``work``
    processes such rows in the worker's loop or, inline, after the commit.
    """
    if work not in _due_work:
        _due_work.append(work)


def run_due_work_after_commit() -> None:
    """Inline mode: process the registered work once the caller's transaction commits."""
    if conf.delivery_mode() == conf.INLINE:
        transaction.on_commit(_due_work_soon, robust=True)


def _due_work_soon() -> None:
    if not conf.inline_in_background():
        _run_due_work(close_connection=False)
    elif not delivery_loop_running.is_set():  # no loop to take what one run leaves
        _background.submit(_run_due_work, close_connection=True)
    elif not _due_work_waiting.is_set():
        _due_work_waiting.set()
        try:
            _background.submit(_run_due_work, close_connection=True, waited=True)
        except BaseException:  # shutting down: a later commit may try again
            _due_work_waiting.clear()
            raise


def _run_each_due_work() -> None:
    """Each app's periodic work, each on its own: one that fails (a directory down while
    the campaign decides people, say) is logged and tried again next turn, and neither
    the others nor the deliveries after them wait for it."""
    for work in _due_work:
        try:
            work()
        except Exception as exc:
            name = getattr(work, "__qualname__", type(work).__name__)
            logger.error("periodic work %s failed: %s", name, type(exc).__name__)


def _run_due_work(*, close_connection: bool, waited: bool = False) -> None:
    if waited:  # running now: what commits from here on asks for a run of its own
        _due_work_waiting.clear()
    try:
        _run_each_due_work()
    finally:
        if close_connection:
            connection.close()


def _deliver_after_commit(message_id: int, kind: MessageKind, meta: RequestMeta) -> None:
    if not conf.inline_in_background():
        _deliver_now(message_id, kind, meta, close_connection=False)
    elif not delivery_loop_running.is_set():  # nothing else would send it
        _background.submit(_deliver_now, message_id, kind, meta, close_connection=True)
    elif _backlog.enter():  # else the row stays pending: the delivery loop sends it
        try:
            _background.submit(_deliver_from_backlog, message_id, kind, meta)
        except BaseException:  # shutting down: the loop, or the next start, sends it
            _backlog.leave()
            raise


def _deliver_from_backlog(message_id: int, kind: MessageKind, meta: RequestMeta) -> None:
    try:
        _deliver_now(message_id, kind, meta, close_connection=True)
    finally:
        _backlog.leave()


def _deliver_now(
    message_id: int, kind: MessageKind, meta: RequestMeta, *, close_connection: bool
) -> None:
    """Inline delivery must never break the request that queued the message."""
    try:
        deliver_message(message_id, kind, meta=meta)
    except Exception as exc:  # e.g. the database went away; a worker picks the row up later
        logger.error("inline delivery of %s failed: %s", message_id, type(exc).__name__)
    finally:
        if close_connection:
            connection.close()


def _current_language() -> str:
    """The language of the request that queued the message: a call speaks it."""
    return (translation.get_language() or "")[:16]


def deliver_message(message_id: int, kind: MessageKind, *, meta: RequestMeta | None = None) -> bool:
    """Send one queued message now if it is due and nobody else holds it.

    The inline path. Returns whether a send was attempted. Never raises for a
    provider's failure: the outcome is recorded and the request carries on, so
    the person sees the same page whatever happened (security bar F7, A1).
    ``kind`` comes from the queuing, so the channel is resolved before the claim
    and the claim names the provider: two writes per message, not three.
    """
    channel = resolve_channel(kind)
    claimed = claim_one(message_id, clock.now(), channel)
    if claimed is None:
        return False
    deliver_claimed(claimed, meta=meta, channel=channel)
    return True


def deliver_due(*, limit: int = 100, should_stop: Callable[[], bool] | None = None) -> int:
    """The worker's loop body: tidy up, then claim and send due messages one by one.

    Returns the number of sends attempted. Claims are atomic across processes
    (``select_for_update(skip_locked=True)`` where the database has it, and a
    conditional UPDATE everywhere), so several workers, or a worker and inline
    requests, never send one message twice. ``should_stop`` is asked between
    messages, so a stopping worker finishes the message in hand and no more.
    """
    run_housekeeping(clock.now(), meta=worker_meta(""))
    _run_each_due_work()
    attempted = 0
    resolved: dict[str, Resolved] = {}  # the channels of this batch, by kind
    while attempted < limit and not (should_stop and should_stop()):
        claimed = claim_next_with_channel(clock.now(), resolved)
        if claimed is None:
            break
        message, channel = claimed
        deliver_claimed(message, meta=None, channel=channel)
        attempted += 1
    return attempted
