"""The outbox's tidying, run at the start of every ``deliver_due``.

* Pending messages past ``expires_at`` become ``expired`` (and lose their body)
  even when their next attempt is still in the future: a code is never sent late.
* A claim older than ``conf.CLAIM_LEASE`` belongs to a worker that died while
  sending. We cannot know whether the provider got the message. A notification
  (a message without ``expires_at``: "your password was reset") is queued
  again, through the usual attempt budget and back-off: it must never be lost,
  and a rare duplicate beats a loss. A code or call (it expires) becomes
  ``uncertain`` instead: the person asks for a fresh one, and a code sent twice
  would only confuse. A channel that deduplicates on our key gets either queued
  again, as no duplicate can reach the person.
* Bodies the outbox channel kept for reading are erased when their retention ends.
"""

from datetime import datetime

from django.db import transaction

from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.channels import conf
from opensspr.channels.delivery import ERASED, finish, message_details, worker_meta
from opensspr.channels.metrics import count_delivery
from opensspr.channels.models import Message, MessageStatus
from opensspr.channels.registry import channel_class
from opensspr.core.request_meta import RequestMeta

_BATCH = 500


def run_housekeeping(now: datetime, *, meta: RequestMeta) -> None:
    expire_overdue(now)
    recover_stale_claims(now)
    erase_retained_bodies(now, meta=meta)


def expire_overdue(now: datetime) -> int:
    overdue = Message.objects.filter(status=MessageStatus.PENDING, expires_at__lte=now)
    count = 0
    for message in overdue.order_by("expires_at")[:_BATCH]:
        meta = worker_meta(message.correlation_id)
        if finish(message, MessageStatus.EXPIRED, meta=meta, reason="expired", claimed=False):
            count += 1
    return count


def recover_stale_claims(now: datetime) -> int:
    stale = Message.objects.filter(
        status=MessageStatus.SENDING, claimed_at__lte=now - conf.CLAIM_LEASE
    )
    count = 0
    for message in stale.order_by("claimed_at")[:_BATCH]:
        meta = worker_meta(message.correlation_id)
        cls = channel_class(message.provider)
        if cls is not None and cls.idempotent:
            _requeue(message, now, meta=meta)  # safe: the provider drops a duplicate key
        elif message.expires_at is None:
            _retry_notification(message, now, meta=meta)
        else:
            finish(message, MessageStatus.UNCERTAIN, meta=meta, reason="worker_lost")
        count += 1
    return count


def _retry_notification(message: Message, now: datetime, *, meta: RequestMeta) -> None:
    """Send a notification again after a crash: maybe a duplicate, never a loss.

    The crashed attempt counted (``attempts`` rose with the claim), so a message
    that kills every worker that sends it stops after ``conf.max_attempts()``
    attempts, as ``uncertain``, instead of killing workers for ever.
    """
    if message.attempts >= conf.max_attempts():
        finish(message, MessageStatus.UNCERTAIN, meta=meta, reason="worker_lost", gave_up=True)
        return
    _requeue(message, now, meta=meta, maybe_sent=True)


def _requeue(
    message: Message, now: datetime, *, meta: RequestMeta, maybe_sent: bool = False
) -> None:
    with transaction.atomic():
        requeued = Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
            status=MessageStatus.PENDING, claimed_at=None, next_attempt_at=now
        )
        if requeued:
            extra = {"maybe_sent": True} if maybe_sent else {}
            record_event(
                activity=Activity.DELIVERY_RETRY_SCHEDULED,
                outcome=Outcome.FAILURE,
                meta=meta,
                reason="worker_lost",
                details=message_details(message, retry_at=now.isoformat(), **extra),
            )
    if requeued:
        count_delivery(message.kind, message.provider, "retry", purpose=message.purpose)


def erase_retained_bodies(now: datetime, *, meta: RequestMeta) -> int:
    with transaction.atomic():
        erased = (
            Message.objects.filter(body_retained_until__lte=now)
            .exclude(body_sealed="", voice_callback_token_sealed="")
            .update(body_retained_until=None, **ERASED)
        )
        if erased:
            record_event(
                activity=Activity.DELIVERY_BODIES_ERASED,
                outcome=Outcome.SUCCESS,
                meta=meta,
                details={"count": erased},
            )
    return erased
