"""One delivery attempt: claim a row, hand it to its channel, record what happened.

A row is sent only by whoever moved it from ``pending`` to ``sending`` with a
conditional UPDATE (``WHERE status = 'pending'``): exactly one claimer wins on
SQLite and on PostgreSQL, where ``SELECT ... FOR UPDATE SKIP LOCKED`` also keeps
concurrent workers from queueing behind each other. The channel is resolved before
the claim, and the claiming UPDATE names its provider, so a claimed row says where it
was going even if the process dies mid-send. The provider call runs outside any database
transaction; the outcome and its audit event are then written together: two writes
per message, the claim and the outcome.
"""

import logging
from contextlib import nullcontext
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.db import connection, transaction

from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.channels import conf
from opensspr.channels.base import (
    DeliveryChannel,
    DeliveryError,
    MessageKind,
    PermanentDeliveryError,
    Receipt,
    TemporaryDeliveryError,
    UncertainDeliveryError,
)
from opensspr.channels.metrics import count_delivery
from opensspr.channels.models import Message, MessageStatus
from opensspr.channels.selectors import channel_for
from opensspr.core import clock
from opensspr.core.crypto import DecryptionError
from opensspr.core.prepared import Param, PreparedSelect, update_where
from opensspr.core.request_meta import RequestMeta, new_correlation_id

logger = logging.getLogger("opensspr.channels")

#: Rows looked at per claim; more than one so that a row another claimer just took
#: (SQLite, where nothing is skipped) does not end the pass early.
_CANDIDATES = 5
#: Columns that hold a secret; blanked whenever a message reaches a final state.
ERASED = {"body_sealed": "", "voice_callback_token_sealed": ""}

#: The channel a message of some kind goes through, or why there is none right now.
type Resolved = DeliveryChannel | DeliveryError

#: The row a claimer sends, read by its claim (``PreparedSelect.returned``).
_MESSAGE = PreparedSelect(
    lambda pk: Message.objects.filter(pk=pk).order_by("pk")[:1], Param(Message._meta.pk)
)


def worker_meta(correlation_id: str) -> RequestMeta:
    return RequestMeta(None, "opensspr-delivery", correlation_id or new_correlation_id())


def message_details(message: Message, **extra: Any) -> dict[str, Any]:
    """What an audit row may say about a message: never its body or token."""
    return {
        "message_id": message.pk,
        "kind": message.kind,
        "purpose": message.purpose,
        "provider": message.provider,
        "recipient_masked": message.recipient_masked,
        "attempt": message.attempts,
        **extra,
    }


def backoff(attempt: int) -> timedelta:
    """1, 2, 4 ... minutes after attempt 1, 2, 3 ..., at most ``conf.MAX_BACKOFF``."""
    return min(timedelta(minutes=2 ** max(attempt - 1, 0)), conf.MAX_BACKOFF)


# --- claiming -----------------------------------------------------------------------


def resolve_channel(kind: MessageKind | str) -> Resolved:
    """The channel for ``kind``, or the error that will be the message's outcome.

    Resolved before the claim, so the claiming UPDATE can name the provider. A
    failure is returned, not raised: the message is still claimed, then finished
    or retried with the failure's reason code, like a send that failed.
    """
    try:
        return channel_for(kind)
    except DeliveryError as exc:
        return exc
    except DecryptionError:  # credentials sealed under a key no longer configured
        return TemporaryDeliveryError("channel_settings_undecryptable")
    except Exception as exc:  # a plug-in's bug: must not block the queue before the claim
        logger.error("channel for %s: unexpected %s", kind, type(exc).__name__)
        return TemporaryDeliveryError(f"channel_unexpected_{type(exc).__name__}")


@cache
def _claim_sql(vendor: str, *, due_only: bool, names_provider: bool) -> str:
    """The claiming ``UPDATE``, made once per database and shape (every message takes one)."""
    q = connection.ops.quote_name
    columns = {field.name: q(str(field.column)) for field in Message._meta.concrete_fields}
    names = ("status", "claimed_at", "attempts", "provider", "expires_at", "next_attempt_at")
    status, claimed, attempts, provider, expires, due = (columns[name] for name in names)
    sets = [f"{status} = %s", f"{claimed} = %s", f"{attempts} = {attempts} + 1"]
    if names_provider:
        unexpired = f"{expires} IS NULL OR {expires} > %s"
        sets.append(f"{provider} = CASE WHEN {unexpired} THEN %s ELSE {provider} END")
    where = [f"{columns['id']} = %s", f"{status} = %s"]
    if due_only:
        where.append(f"{due} <= %s")
    return f"UPDATE {q(Message._meta.db_table)} SET {', '.join(sets)} WHERE {' AND '.join(where)}"  # noqa: S608  # quoted names of the model's own columns


def _claim(
    message_id: int, now: datetime, channel: Resolved | None, *, due_only: bool
) -> Message | None:
    """Move the row from pending to sending: it is ours, and the attempt counts. Returns the
    row as claimed (read by the claim itself, ``RETURNING``), or None when it wasn't ours
    to take.

    The claim also names the provider, where writing it before the send took a write
    of its own (on SQLite a turn of the process's writer lock). It leaves the same
    trace for ``housekeeping.recover_stale_claims`` when the process dies after the
    claim. A row already expired keeps the provider it had, as it did when the name
    was written after the expiry check: it goes nowhere. ``due_only``: and only if
    its time has come (the inline path names one particular message).
    """
    key = None if channel is None or isinstance(channel, DeliveryError) else channel.key
    at = Message._meta.get_field("claimed_at").get_db_prep_value(now, connection, prepared=False)
    params: list[Any] = [MessageStatus.SENDING.value, at]
    if key is not None:
        params += [at, key]
    params += [message_id, MessageStatus.PENDING.value]
    if due_only:
        params.append(at)
    sql = _claim_sql(connection.vendor, due_only=due_only, names_provider=key is not None)
    # SQLite's write stays open until RETURNING's rows are read: inside a transaction,
    # under the embedded engine's writer lock (PostgreSQL needs none for one statement).
    own = connection.vendor != "postgresql" and not connection.in_atomic_block
    with transaction.atomic() if own else nullcontext():
        return _MESSAGE.returned(sql, params)


def claim_next(now: datetime) -> int | None:
    """Claim the most overdue unexpired message, or None when nothing is due.

    One row per short transaction, claimed right before it is sent: a worker that
    dies leaves at most the message in hand in ``sending``, never a batch it had
    not even tried. ``SKIP LOCKED`` lets concurrent workers pass each other's row.
    Each candidate's kind comes with it, so the claim can name its provider.
    """
    found = claim_next_with_channel(now, {})
    return None if found is None else found[0].pk


def claim_next_with_channel(
    now: datetime, resolved: dict[str, Resolved]
) -> tuple[Message, Resolved] | None:
    """``claim_next``, with the row as claimed and the channel the claim was made with.

    ``resolved`` holds the channels resolved so far, by kind: the worker's loop passes
    one per batch, so a batch reads the channel settings once per kind, where each
    message read them twice (to name the provider in the claim, then to send).
    """
    with transaction.atomic():
        due = Message.objects.filter(status=MessageStatus.PENDING, next_attempt_at__lte=now)
        due = due.exclude(expires_at__lte=now).order_by("next_attempt_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        for pk, kind in due.values_list("pk", "kind")[:_CANDIDATES]:
            if kind not in resolved:
                resolved[kind] = resolve_channel(kind)
            if claimed := _claim(pk, now, resolved[kind], due_only=False):
                return claimed, resolved[kind]
    return None


def claim_one(message_id: int, now: datetime, channel: Resolved | None = None) -> Message | None:
    """Claim one particular message if it is due (the inline path): the row as claimed.

    ``channel`` is what the caller resolved for the message's kind; the claim names
    its provider. Without it the row keeps the provider it had until
    ``deliver_claimed`` names one.
    """
    return _claim(message_id, now, channel, due_only=True)


# --- sending ------------------------------------------------------------------------


def _send(message: Message, channel: DeliveryChannel) -> Receipt | DeliveryError:
    try:
        return channel.send(message, message.plaintext_body())
    except DeliveryError as exc:
        return exc
    except DecryptionError:  # sealed under a key that is no longer configured
        return PermanentDeliveryError("undecryptable")
    except Exception as exc:  # a bug or an unforeseen library error
        # Only the class name: an exception's text may quote what we sent.
        logger.error("delivery %s: unexpected %s", message.pk, type(exc).__name__)
        return UncertainDeliveryError(f"unexpected_{type(exc).__name__}")


def deliver_claimed(
    message: Message, *, meta: RequestMeta | None, channel: Resolved | None = None
) -> None:
    """Send a message this process claimed (the row as its claim returned it), and record
    the outcome.

    ``channel`` is what the claim was made with, or None to resolve it now. Either
    way the row names the provider before the send, the trace a crash leaves; it
    takes a write of its own only when the claim named none or another (the
    settings changed in between).
    """
    meta = meta or worker_meta(message.correlation_id)
    if message.expires_at is not None and message.expires_at <= clock.now():
        finish(message, MessageStatus.EXPIRED, meta=meta, reason="expired")
        return
    if channel is None:
        channel = resolve_channel(message.kind)
    if isinstance(channel, DeliveryError):
        result: Receipt | DeliveryError = channel
        sender: DeliveryChannel | None = None
    else:
        sender = channel
        if message.provider != sender.key:
            message.provider = sender.key
            Message.objects.filter(pk=message.pk).update(provider=sender.key)  # trace a crash
        result = _send(message, sender)
    if isinstance(result, Receipt):
        record_sent(message, result, keeps_body=bool(sender and sender.keeps_body), meta=meta)
    elif isinstance(result, UncertainDeliveryError) and not (sender and sender.idempotent):
        finish(message, MessageStatus.UNCERTAIN, meta=meta, reason=result.code)
    elif isinstance(result, TemporaryDeliveryError | UncertainDeliveryError):
        schedule_retry(message, result.code, meta=meta)
    else:
        finish(message, MessageStatus.FAILED, meta=meta, reason=result.code)


# --- recording outcomes -------------------------------------------------------------


def _update_claimed(message: Message, **fields: Any) -> bool:
    """Write an outcome only if the row is still ours (housekeeping may have taken it)."""
    still_ours = {"pk": message.pk, "status": MessageStatus.SENDING}
    return update_where(Message, still_ours, {"claimed_at": None, **fields}) == 1


def record_sent(message: Message, receipt: Receipt, *, keeps_body: bool, meta: RequestMeta) -> None:
    now = clock.now()
    fields: dict[str, Any] = {
        "status": MessageStatus.SENT,
        "sent_at": now,
        "provider_ref": receipt.provider_ref[:128],
        "last_error": "",
    }
    if keeps_body:  # the outbox: reading it is the delivery
        fields["body_retained_until"] = max(message.expires_at or now, now) + conf.OUTBOX_RETENTION
    else:
        fields |= ERASED
    with transaction.atomic():
        if not _update_claimed(message, **fields):
            return
        record_event(
            activity=Activity.DELIVERY_SENT,
            outcome=Outcome.SUCCESS,
            meta=meta,
            details=message_details(message),
        )
    count_delivery(message.kind, message.provider, "sent", purpose=message.purpose)
    logger.info("delivery %s sent via %s", message.pk, message.provider)


def schedule_retry(message: Message, code: str, *, meta: RequestMeta) -> None:
    now = clock.now()
    retry_at = now + backoff(message.attempts)
    if message.attempts >= conf.max_attempts():
        finish(message, MessageStatus.FAILED, meta=meta, reason=code, gave_up=True)
        return
    if message.expires_at is not None and retry_at >= message.expires_at:
        finish(message, MessageStatus.EXPIRED, meta=meta, reason=code)
        return
    with transaction.atomic():
        if not _update_claimed(
            message, status=MessageStatus.PENDING, next_attempt_at=retry_at, last_error=code
        ):
            return
        record_event(
            activity=Activity.DELIVERY_RETRY_SCHEDULED,
            outcome=Outcome.FAILURE,
            meta=meta,
            reason=code[:64],
            details=message_details(message, retry_at=retry_at.isoformat()),
        )
    count_delivery(message.kind, message.provider, "retry", purpose=message.purpose)
    logger.warning("delivery %s: %s, retry at %s", message.pk, code, retry_at.isoformat())


_FINAL_ACTIVITY = {
    MessageStatus.FAILED: (Activity.DELIVERY_FAILED, "failed"),
    MessageStatus.UNCERTAIN: (Activity.DELIVERY_FAILED, "uncertain"),
    MessageStatus.EXPIRED: (Activity.DELIVERY_EXPIRED, "expired"),
}


def finish(
    message: Message,
    status: MessageStatus,
    *,
    meta: RequestMeta,
    reason: str,
    gave_up: bool = False,
    claimed: bool = True,
) -> bool:
    """Move a message to a final state other than sent, erasing its secrets."""
    activity, outcome = _FINAL_ACTIVITY[status]
    fields = {"status": status, "last_error": reason[:120], **ERASED}
    with transaction.atomic():
        if claimed:
            done = _update_claimed(message, **fields)
        else:
            done = (
                Message.objects.filter(pk=message.pk, status=MessageStatus.PENDING).update(**fields)
                == 1
            )
        if not done:
            return False
        extra = {"uncertain": True} if status == MessageStatus.UNCERTAIN else {}
        if gave_up:
            extra["gave_up"] = True
        record_event(
            activity=activity,
            outcome=Outcome.FAILURE,
            meta=meta,
            reason=reason[:64],
            details=message_details(message, **extra),
        )
    count_delivery(message.kind, message.provider, outcome, purpose=message.purpose)
    logger.warning("delivery %s %s: %s", message.pk, outcome, reason)
    return True
