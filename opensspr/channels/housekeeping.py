"""The outbox's tidying, run at the start of every ``deliver_due``.

* Pending messages past ``expires_at`` become ``expired`` (and lose their body)
  even when their next attempt is still in the future: a code is never sent late.
* A claim older than ``conf.CLAIM_LEASE`` belongs to a worker that died while
  sending. We cannot know whether the provider got the message, so it becomes
  ``uncertain``, unless its channel deduplicates on our key, in which case it is
  simply queued again.
* Bodies the outbox channel kept for reading are erased when their retention ends.
"""

from datetime import datetime

from django.db import transaction

from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.channels import conf
from opensspr.channels.delivery import ERASED, finish, message_details, worker_meta
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
        else:
            finish(message, MessageStatus.UNCERTAIN, meta=meta, reason="worker_lost")
        count += 1
    return count


def _requeue(message: Message, now: datetime, *, meta: RequestMeta) -> None:
    with transaction.atomic():
        requeued = Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
            status=MessageStatus.PENDING, claimed_at=None, next_attempt_at=now
        )
        if requeued:
            record_event(
                activity=Activity.DELIVERY_RETRY_SCHEDULED,
                outcome=Outcome.FAILURE,
                meta=meta,
                reason="worker_lost",
                details=message_details(message, retry_at=now.isoformat()),
            )


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
