"""The §5.1 throttle calls the reset flow makes, in the shape the tests were written in."""

from datetime import datetime

from opensspr.throttles import rules, service
from opensspr.throttles.base import Verdict
from opensspr.throttles.rules import Scope
from opensspr.throttles.subjects import typed_user_id as subject_key

__all__ = ["blocked_until", "clear", "consume", "record_failure", "subject_key"]


def consume(subject: str, action: str, now: datetime) -> Verdict:
    """One send or check of ``action`` ("sms", ...), as ``count_or_block`` counts it."""
    return service.hit(rules.SSPR_BY_ACTION[action], subject, now=now)


def record_failure(subject: str, now: datetime) -> Verdict:
    """One wrong answer as the flow counts it: reserved before comparing, then kept."""
    reservation = service.reserve(rules.SSPR_VERIFY_FAILURE, subject, now=now)
    return Verdict(
        not reservation.blocks_on_failure,
        reservation.blocked_until,
        newly_blocked=reservation.verdict.newly_blocked,
    )


def blocked_until(subject: str, now: datetime) -> datetime | None:
    return service.blocked_until(rules.SSPR_VERIFY_FAILURE, subject, now=now)


def clear(subject: str) -> None:
    service.clear(Scope.SSPR, subject)
