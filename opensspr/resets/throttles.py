"""SSPR throttles (reference §5.1): how often one user ID may try each step.

* 5 failed verifications in 24 hours;
* 5 text messages, 5 calls, 5 phone-number checks or 5 security-question
  attempts in 1 hour;
* 10 emails in 10 minutes.

A failed verification is *reserved* before the answer is compared
(``reserve_failure``) and given back when the answer was right
(``give_back_failure``), so a burst of parallel wrong answers never has more
than the limit compared.

Going over any of them blocks the user ID from self-service reset for 24 hours.
A successful reset clears everything. Each count happens in one transaction
holding the subject's row lock, so parallel requests can't slip past a limit
(attack A2's race).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.db import transaction

from opensspr.core.crypto import keyed_digest
from opensspr.resets.models import ThrottleEvent, ThrottleSubject

BLOCK_FOR = timedelta(hours=24)


class Action(StrEnum):
    VERIFY_FAILURE = "verify_failure"
    SMS = "sms"
    CALL = "call"
    PHONE_CHECK = "phone_check"
    QUESTIONS = "questions"
    EMAIL = "email"


@dataclass(frozen=True)
class Rule:
    limit: int
    window: timedelta


RULES = {
    Action.VERIFY_FAILURE: Rule(5, timedelta(hours=24)),
    Action.SMS: Rule(5, timedelta(hours=1)),
    Action.CALL: Rule(5, timedelta(hours=1)),
    Action.PHONE_CHECK: Rule(5, timedelta(hours=1)),
    Action.QUESTIONS: Rule(5, timedelta(hours=1)),
    Action.EMAIL: Rule(10, timedelta(minutes=10)),
}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    blocked_until: datetime | None = None
    newly_blocked: bool = False


def subject_key(identifier_key: str) -> str:
    """The throttle subject of a typed user ID: a keyed digest, never the ID itself."""
    return keyed_digest("sspr-throttle", identifier_key)


def blocked_until(subject: str, now: datetime) -> datetime | None:
    row = ThrottleSubject.objects.filter(key=subject).first()
    if row and row.blocked_until and row.blocked_until > now:
        return row.blocked_until
    return None


def _locked_subject(subject: str) -> ThrottleSubject:
    row, _created = ThrottleSubject.objects.select_for_update().get_or_create(key=subject)
    return row


def _count(subject: ThrottleSubject, action: Action, now: datetime) -> int:
    since = now - RULES[action].window
    return ThrottleEvent.objects.filter(subject=subject, action=action, at__gt=since).count()


def _block(subject: ThrottleSubject, action: Action, now: datetime) -> Verdict:
    subject.blocked_until = now + BLOCK_FOR
    subject.blocked_by = action
    subject.save(update_fields=["blocked_until", "blocked_by"])
    return Verdict(False, subject.blocked_until, newly_blocked=True)


def consume(subject: str, action: Action, now: datetime) -> Verdict:
    """Ask to do ``action`` once more (send, call, check); counts it when allowed."""
    with transaction.atomic():
        row = _locked_subject(subject)
        if row.blocked_until and row.blocked_until > now:
            return Verdict(False, row.blocked_until)
        if _count(row, action, now) >= RULES[action].limit:
            return _block(row, action, now)
        ThrottleEvent.objects.create(subject=row, action=action, at=now)
        return Verdict(True)


def record_failure(subject: str, now: datetime) -> Verdict:
    """Count a failed verification; the limit-th failure blocks at once."""
    with transaction.atomic():
        row = _locked_subject(subject)
        if row.blocked_until and row.blocked_until > now:
            return Verdict(False, row.blocked_until)
        ThrottleEvent.objects.create(subject=row, action=Action.VERIFY_FAILURE, at=now)
        if _count(row, Action.VERIFY_FAILURE, now) >= RULES[Action.VERIFY_FAILURE].limit:
            return _block(row, Action.VERIFY_FAILURE, now)
        return Verdict(True)


@dataclass(frozen=True)
class Reservation:
    """A failed verification counted in advance; given back if the answer was right."""

    allowed: bool
    event_id: int | None = None
    newly_blocked: bool = False


def reserve_failure(subject: str, now: datetime) -> Reservation:
    """Count a failure *before* comparing an answer; refused at the limit.

    Counted under the subject's row lock with the failures reserved by parallel
    requests still comparing, so at most the limit of answers are ever compared
    in the window. Reaching the limit with this reservation refuses the next one
    (and blocks) until one is given back.
    """
    with transaction.atomic():
        row = _locked_subject(subject)
        if row.blocked_until and row.blocked_until > now:
            return Reservation(False)
        if _count(row, Action.VERIFY_FAILURE, now) >= RULES[Action.VERIFY_FAILURE].limit:
            return Reservation(
                False, newly_blocked=_block(row, Action.VERIFY_FAILURE, now).newly_blocked
            )
        event = ThrottleEvent.objects.create(subject=row, action=Action.VERIFY_FAILURE, at=now)
        return Reservation(True, event.pk)


def give_back_failure(reservation: Reservation) -> None:
    """The answer was right: the reserved failure never happened."""
    if reservation.event_id is not None:
        ThrottleEvent.objects.filter(pk=reservation.event_id).delete()


def settle_failure(subject: str, now: datetime) -> Verdict:
    """The reserved failure was one: the limit-th failure blocks at once."""
    with transaction.atomic():
        row = _locked_subject(subject)
        if row.blocked_until and row.blocked_until > now:
            return Verdict(False, row.blocked_until)
        if _count(row, Action.VERIFY_FAILURE, now) >= RULES[Action.VERIFY_FAILURE].limit:
            return _block(row, Action.VERIFY_FAILURE, now)
        return Verdict(True)


def clear(subject: str) -> None:
    """After a successful reset the counters start afresh (reference §5.1)."""
    ThrottleSubject.objects.filter(key=subject).delete()
