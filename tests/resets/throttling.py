"""The §5.1 throttle calls the reset flow makes, in the shape the tests were written in."""

from datetime import datetime, timedelta

from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.methods.base import Answer
from opensspr.resets.flow import FlowError, submit_verification
from opensspr.throttles import rules, service
from opensspr.throttles.base import Verdict
from opensspr.throttles.rules import Scope
from opensspr.throttles.subjects import typed_user_id as subject_key

__all__ = [
    "answer_wrong",
    "blocked_until",
    "clear",
    "consume",
    "record_failure",
    "subject_key",
    "wait_out",
]


def consume(subject: str, action: str, now: datetime) -> Verdict:
    """One send or check of ``action`` ("sms", ...), as ``count_or_block`` counts it."""
    return service.hit(rules.SSPR_BY_ACTION[action], subject, now=now)


def record_failure(subject: str, now: datetime) -> Verdict:
    """One wrong answer as the flow counts it: reserved before comparing, then kept.

    Like a person, it waits out a short pause a wrong answer before it set (it is
    counted when the pause ends). ``allowed`` is False once the day's block is set.
    """
    rule = rules.SSPR_VERIFY_FAILURE
    # Callers pass one ``now`` for several failures: pauses set "later" add up from it.
    pauses = sum((pause for _used, pause in rules.VERIFY_PAUSES.after), timedelta())
    reservation = service.reserve(rule, subject, now=now)
    until = reservation.blocked_until
    if not reservation.allowed and until and until - now <= pauses:
        reservation = service.reserve(rule, subject, now=until)
    day_blocked = not reservation.allowed or (
        reservation.penalised and rule.final(reservation.verdict.used)
    )
    return Verdict(
        not day_blocked,
        reservation.blocked_until,
        newly_blocked=reservation.verdict.newly_blocked and day_blocked,
    )


def blocked_until(subject: str, now: datetime) -> datetime | None:
    return service.blocked_until(rules.SSPR_VERIFY_FAILURE, subject, now=now)


def clear(subject: str) -> None:
    service.clear(Scope.SSPR, subject)


def wait_out(retry_after: int | None) -> None:
    """Let a short pause after wrong answers in a row run out, as the person would."""
    if retry_after:
        clock.advance(timedelta(seconds=retry_after))


def answer_wrong(handle: str, meta: RequestMeta, answer: Answer = "00000000") -> FlowError:
    """One wrong answer at the open gate; the refusal, its short pause (if any) waited out."""
    try:
        submit_verification(handle=handle, answer=answer, meta=meta)
    except FlowError as exc:
        wait_out(exc.retry_after)
        return exc
    raise AssertionError("the wrong answer was accepted")
