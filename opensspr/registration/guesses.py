"""Counting wrong answers to security-info proofs: the hour's limit over all proofs, the
day's ceiling shared with self-service reset (identity proofs), and its short pauses.

Every failure is reserved before the answer is compared and given back when it was right
(``throttles.service``), so no burst of parallel answers is compared past either limit.
"""

from datetime import datetime

from django.db.models import F

from opensspr.accounts.identifiers import identifier_key
from opensspr.accounts.models import User
from opensspr.methods import challenges
from opensspr.registration.errors import ProofError
from opensspr.registration.models import Proof, ProofPurpose
from opensspr.throttles import rules, service, subjects
from opensspr.throttles.base import Reservation


def hour_used_up(user: User, now: datetime) -> bool:
    """The person has typed as many wrong codes as the hour allows."""
    return service.blocked_until(rules.REGISTRATION_WRONG_CODE, str(user.pk), now=now) is not None


def daily_subject(user: User, kind: str) -> str:
    """The person's key in the reset's 24-hour counter: their own user ID, as if typed, for
    this way of verifying, on a familiar network (they signed in to get here, which makes
    the network familiar)."""
    typed = subjects.typed_user_id(identifier_key(user.user_id))
    return subjects.failure_subject(typed, familiar=True, method=kind)


def refuse_if_paused(user: User, now: datetime, kind: str) -> None:
    """Identity proofs with ``kind`` wait when the day's counter (shared with the reset) says
    so: ``paused`` for a short while after wrong answers in a row (with the seconds left),
    ``blocked_today`` after a day's worth."""
    until = service.blocked_until(rules.SSPR_VERIFY_FAILURE, daily_subject(user, kind), now=now)
    if until is None:
        return
    if (wait := rules.VERIFY_PAUSES.wait(until, now)) is not None:
        raise ProofError("paused", retry_after=wait)
    raise ProofError("blocked_today")


def reserve_failure(proof: Proof, now: datetime) -> list[Reservation]:
    """Reserve the day's failure (identity proofs), the hourly wrong code, then a try.

    Refused (``ProofError``) when the day's verification failures are used up
    (``blocked_today``), the hour's wrong codes are (``throttled``) or the proof
    has no try left (``code_dead``); what was reserved before is given back:
    nothing was compared.
    """
    taken: list[Reservation] = []
    if proof.purpose == ProofPurpose.IDENTITY:
        subject = daily_subject(proof.user, proof.kind)
        daily = service.reserve(rules.SSPR_VERIFY_FAILURE, subject, now=now)
        if not daily.allowed:
            until = daily.blocked_until
            if until is not None and (wait := rules.VERIFY_PAUSES.wait(until, now)) is not None:
                raise ProofError("paused", retry_after=wait)
            raise ProofError("blocked_today")
        taken.append(daily)
    hourly = service.reserve(rules.REGISTRATION_WRONG_CODE, str(proof.user_id), now=now)
    if not hourly.allowed:
        give_back(taken)
        raise ProofError("throttled")
    taken.append(hourly)
    if not challenges.reserve_try(proof, counted=("failures",)):
        give_back(taken)
        raise ProofError("code_dead")
    return taken


def give_back(reservations: list[Reservation]) -> None:
    for reservation in reservations:
        service.give_back(reservation)


def give_back_failure(proof: Proof, reservations: list[Reservation]) -> None:
    """The answer was right: the failures reserved with its try never happened."""
    Proof.objects.filter(pk=proof.pk, failures__gt=0).update(failures=F("failures") - 1)
    give_back(reservations)
