"""Registration's limits: sends per person and wrong answers per hour (reference §5.1).

Counted per person in the database while the person's ``RegistrationState`` row
is locked, so parallel requests can't slip past a limit and losing Redis resets
nothing (attacks A2, A5). A wrong answer is reserved with its try *before* the
answer is compared and given back when it was right (``reserve_failure`` /
``give_back_failure``): a burst of parallel guesses compares at most
``FAILURES_PER_HOUR`` answers. These names are what a shared throttle module
can take over.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Sum

from opensspr.accounts.models import User
from opensspr.methods import challenges
from opensspr.policy.kinds import MethodKind
from opensspr.registration.models import Proof, RegistrationState


@dataclass(frozen=True)
class SendLimit:
    kinds: frozenset[str]
    maximum: int
    window: timedelta


#: Reference §5.1's budgets, applied to registration: 10 emails in 10 minutes,
#: 5 texts and 5 calls an hour. Counted apart from the reset throttles, which
#: count per typed user ID.
SEND_LIMITS = (
    SendLimit(frozenset({MethodKind.EMAIL}), 10, timedelta(minutes=10)),
    SendLimit(frozenset({MethodKind.MOBILE_SMS}), 5, timedelta(hours=1)),
    SendLimit(frozenset({MethodKind.MOBILE_VOICE, MethodKind.OFFICE_VOICE}), 5, timedelta(hours=1)),
)
#: Wrong codes a person may type in an hour, over all their proofs.
FAILURES_PER_HOUR = 10


def lock_state(user: User) -> RegistrationState:
    """The person's bookkeeping row, locked until the transaction ends (counts stay exact)."""
    state, _created = RegistrationState.objects.select_for_update().get_or_create(user=user)
    return state


def failures_in_last_hour(user: User, now: datetime) -> int:
    """Wrong answers (reserved ones included) over all the person's proofs in the hour."""
    total = Proof.objects.filter(user=user, issued_at__gt=now - timedelta(hours=1)).aggregate(
        n=Sum("failures")
    )["n"]
    return int(total or 0)


def send_limit_reached(user: User, kind: MethodKind, now: datetime) -> bool:
    """Has ``user`` had as many codes or calls of ``kind`` as its window allows?"""
    for limit in SEND_LIMITS:
        if kind in limit.kinds:
            sent = Proof.objects.filter(
                user=user, kind__in=limit.kinds, issued_at__gt=now - limit.window
            ).count()
            if sent >= limit.maximum:
                return True
    return False


def reserve_failure(proof: Proof, now: datetime) -> str:
    """Reserve a try of ``proof`` and the failure it may be; '' or why it's refused.

    Under the person's lock: the hourly failures (reserved ones included) are
    below the limit, and one conditional UPDATE takes a try and a failure on
    the proof. The answer is compared after this commits.
    """
    with transaction.atomic():
        lock_state(proof.user)
        if failures_in_last_hour(proof.user, now) >= FAILURES_PER_HOUR:
            return "throttled"
        if not challenges.reserve_try(proof, failures=F("failures") + 1):
            return "code_dead"
    return ""


def give_back_failure(proof: Proof) -> None:
    """The answer was right: the failure reserved with its try never happened."""
    Proof.objects.filter(pk=proof.pk, failures__gt=0).update(failures=F("failures") - 1)
