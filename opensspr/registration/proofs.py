"""Proof rows: send a code or place a call, check what comes back, count sends and failures.

Invariants:

* A code is stored only as a keyed digest bound to its proof's random ``ref``
  (``methods.base.code_digest``); it lives 5 minutes and allows 5 tries. Each
  try is reserved with one conditional UPDATE before the answer is compared, so
  parallel requests holding stale copies of the row compare at most 5 answers
  between them, and ``mark_proven`` refuses a proof with 5 wrong answers.
* A proof passes once: one conditional UPDATE moves it from open to proven, so a
  replay or two parallel submissions can't both pass (attack A8).
* Sends and failures are counted per person in the database while the person's
  ``RegistrationState`` row is locked (checking an answer too), so parallel
  requests can't slip past a limit and losing Redis resets nothing (attacks A2,
  A5). Texts and calls also
  draw on the reset flow's per-address and global phone budgets (attack A4).
* Issuing a proof ends the session's earlier open proof of the same purpose:
  one live code at a time (OWASP MFA-1).
* A change or removal of a method ends the person's open proofs and identity
  windows in every other session (``end_other_sessions``).
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q, Sum

from opensspr.accounts.models import User
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.channels import MessageKind, enqueue_message
from opensspr.channels.budgets import phone_budget_exceeded
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.methods.base import CODE_TTL, MAX_TRIES_PER_CODE, code_digest, code_matches, new_code
from opensspr.methods.contact import voice_token_digest
from opensspr.policy.kinds import MethodKind
from opensspr.registration import notify
from opensspr.registration.models import Proof, ProofPurpose, RegistrationState

MESSAGE_KIND = {
    MethodKind.EMAIL: MessageKind.EMAIL,
    MethodKind.MOBILE_SMS: MessageKind.SMS,
    MethodKind.MOBILE_VOICE: MessageKind.VOICE,
    MethodKind.OFFICE_VOICE: MessageKind.VOICE,
}
CODE_DIGITS = {MessageKind.EMAIL: 8, MessageKind.SMS: 6}


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


class ProofError(Exception):
    """A proof can't be started or didn't pass; ``code`` picks the message shown."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def lock_state(user: User) -> RegistrationState:
    """The person's bookkeeping row, locked until the transaction ends (counts stay exact)."""
    state, _created = RegistrationState.objects.select_for_update().get_or_create(user=user)
    return state


def failures_in_last_hour(user: User, now: datetime) -> int:
    total = Proof.objects.filter(user=user, issued_at__gt=now - timedelta(hours=1)).aggregate(
        n=Sum("failures")
    )["n"]
    return int(total or 0)


def _check_send_limits(user: User, kind: MethodKind, now: datetime) -> None:
    for limit in SEND_LIMITS:
        if kind in limit.kinds:
            sent = Proof.objects.filter(
                user=user, kind__in=limit.kinds, issued_at__gt=now - limit.window
            ).count()
            if sent >= limit.maximum:
                raise ProofError("too_many_sends")


def _within_phone_budget(meta: RequestMeta, now: datetime) -> bool:
    """The reset flow's phone budgets (same buckets): cost is cost, whoever asks."""
    return phone_budget_exceeded(meta.ip_address, now) is None


def audit(
    user: User,
    activity: str,
    meta: RequestMeta,
    *,
    outcome: Outcome = Outcome.SUCCESS,
    reason: str = "",
    **details: str,
) -> None:
    record_event(
        activity=activity,
        outcome=outcome,
        reason=reason,
        meta=meta,
        actor=user,
        target=user,
        details=details,
    )


def _end_open(user: User, session: str, purpose: ProofPurpose, now: datetime) -> None:
    Proof.objects.filter(
        user=user, session_digest=session, purpose=purpose, consumed_at__isnull=True
    ).update(consumed_at=now)


def issue(
    *,
    user: User,
    session: str,
    purpose: ProofPurpose,
    kind: MethodKind,
    to: str,
    meta: RequestMeta,
    value: str = "",
    destination_digest: str = "",
) -> Proof:
    """Send a code to, or call, ``to`` and remember the proof; audited either way.

    ``to`` is the stored value for an identity proof (``destination_digest``
    records which) and the value being added otherwise; the caller has checked
    which.
    """
    now = clock.now()
    try:
        with transaction.atomic():
            lock_state(user)
            if failures_in_last_hour(user, now) >= FAILURES_PER_HOUR:
                raise ProofError("throttled")
            _check_send_limits(user, kind, now)
            message_kind = MESSAGE_KIND[kind]
            if message_kind != MessageKind.EMAIL and not _within_phone_budget(meta, now):
                raise ProofError("phone_budget")
            _end_open(user, session, purpose, now)
            proof = _create_and_send(
                user=user,
                session=session,
                purpose=purpose,
                kind=kind,
                to=to,
                value=value,
                destination_digest=destination_digest,
                meta=meta,
                now=now,
            )
            audit(
                user, "registration.proof_started", meta, purpose=purpose.value, method=kind.value
            )
    except ProofError as exc:
        audit(
            user,
            "registration.proof_refused",
            meta,
            outcome=Outcome.FAILURE,
            reason=exc.code,
            purpose=purpose.value,
            method=kind.value,
        )
        raise
    return proof


def _create_and_send(
    *,
    user: User,
    session: str,
    purpose: ProofPurpose,
    kind: MethodKind,
    to: str,
    value: str,
    destination_digest: str,
    meta: RequestMeta,
    now: datetime,
) -> Proof:
    ref = secrets.token_hex(16)
    message_kind = MESSAGE_KIND[kind]
    code = new_code(CODE_DIGITS[message_kind]) if message_kind in CODE_DIGITS else ""
    token = secrets.token_urlsafe(32) if message_kind == MessageKind.VOICE else ""
    proof = Proof.objects.create(
        user=user,
        session_digest=session,
        purpose=purpose,
        kind=kind.value,
        ref=ref,
        value=value,
        code_digest=code_digest(f"registration:{ref}", code) if code else "",
        voice_token_digest=voice_token_digest(token) if token else "",
        destination_digest=destination_digest,
        issued_at=now,
        expires_at=now + CODE_TTL,
    )
    message = notify.proof_message(
        kind=message_kind,
        to=to,
        identity=purpose == ProofPurpose.IDENTITY,
        code=code,
        voice_token=token,
        ref=ref,
        meta=meta,
        expires_at=now + CODE_TTL,
    )
    enqueue_message(message, meta=meta)
    return proof


def record_without_send(
    *,
    user: User,
    session: str,
    purpose: ProofPurpose,
    kind: str,
    meta: RequestMeta,
    ttl: timedelta,
    app_id: int | None = None,
    proven: bool = False,
) -> Proof:
    """A proof nothing is sent for: an app code, or the password (the caller audits)."""
    now = clock.now()
    _end_open(user, session, purpose, now)
    return Proof.objects.create(
        user=user,
        session_digest=session,
        purpose=purpose,
        kind=kind,
        ref=secrets.token_hex(16),
        app_id=app_id,
        issued_at=now,
        expires_at=now + ttl,
        proven_at=now if proven else None,
    )


def get_open_proof(user: User, session: str, purposes: set[ProofPurpose]) -> Proof | None:
    """The session's latest proof still waiting for its answer, if any."""
    return (
        Proof.objects.filter(
            user=user,
            session_digest=session,
            purpose__in=purposes,
            proven_at__isnull=True,
            consumed_at__isnull=True,
        )
        .order_by("-issued_at", "-pk")
        .first()
    )


def check(
    proof: Proof,
    answer: str,
    meta: RequestMeta,
    *,
    matches: Callable[[], bool] | None = None,
) -> None:
    """Raise ``ProofError`` unless ``answer`` proves ``proof``; a wrong answer is counted.

    ``matches`` is the caller's check for answers this module can't check (an
    authenticator code); it is called only once a try is reserved. A call
    passes once its callback said "#". Passing writes nothing but the reserved
    try: the caller marks the proof with ``mark_proven`` in the transaction
    that uses it.

    ``proof`` may be a stale copy: every count is read and written in the
    database, under the person's ``RegistrationState`` lock, and the try is
    reserved with one conditional UPDATE before the answer is compared.
    """
    now = clock.now()
    if proof.expires_at <= now:
        raise ProofError("code_expired")
    if proof.kind in (MethodKind.MOBILE_VOICE, MethodKind.OFFICE_VOICE):
        if failures_in_last_hour(proof.user, now) >= FAILURES_PER_HOUR:
            raise ProofError("throttled")
        if proof.answered_at is None:
            raise ProofError("call_not_answered")
        return
    with transaction.atomic():
        lock_state(proof.user)
        refusal = _try_answer(proof, answer, meta, now, matches)
    if refusal:
        raise ProofError(refusal)


def _try_answer(
    proof: Proof,
    answer: str,
    meta: RequestMeta,
    now: datetime,
    matches: Callable[[], bool] | None,
) -> str:
    """Reserve a try, then compare (the caller holds the lock); '' or why it's refused."""
    if failures_in_last_hour(proof.user, now) >= FAILURES_PER_HOUR:
        return "throttled"
    reserved = Proof.objects.filter(
        pk=proof.pk, tries__lt=MAX_TRIES_PER_CODE, failures__lt=MAX_TRIES_PER_CODE
    ).update(tries=F("tries") + 1)
    if not reserved:
        return "code_dead"
    if matches is not None:
        right = matches()
    else:
        right = code_matches(f"registration:{proof.ref}", proof.code_digest, answer[:64])
    if right:
        return ""
    Proof.objects.filter(pk=proof.pk).update(failures=F("failures") + 1)
    proof.refresh_from_db(fields=["tries", "failures"])
    dead = proof.tries >= MAX_TRIES_PER_CODE
    audit(
        proof.user,
        "registration.proof_failed",
        meta,
        outcome=Outcome.FAILURE,
        reason="code_dead" if dead else "wrong_code",
        purpose=proof.purpose,
        method=proof.kind,
    )
    return "code_dead" if dead else "invalid_code"


def mark_proven(proof: Proof, *, consume: bool) -> bool:
    """Single use: True for the one request that moved ``proof`` from open to proven.

    A proof that has had its 5 wrong answers never passes, whatever a stale
    copy of it says.
    """
    now = clock.now()
    changes: dict[str, datetime] = {"proven_at": now}
    if consume:
        changes["consumed_at"] = now
    return (
        Proof.objects.filter(
            pk=proof.pk,
            proven_at__isnull=True,
            consumed_at__isnull=True,
            expires_at__gt=now,
            failures__lt=MAX_TRIES_PER_CODE,
        ).update(**changes)
        == 1
    )


def end_other_sessions(user: User, *, keep_session: str | None) -> int:
    """End ``user``'s open proofs and identity windows in every session but ``keep_session``.

    Called when a method changes or goes (by the person, or by an administrator
    with ``keep_session=None``): a code on its way, or a window another session
    opened before the change, must not change anything afterwards. Returns how
    many proofs ended.
    """
    ended = Proof.objects.filter(user=user).filter(
        Q(consumed_at__isnull=True) | Q(purpose=ProofPurpose.IDENTITY, proven_at__isnull=False)
    )
    if keep_session is not None:
        ended = ended.exclude(session_digest=keep_session)
    return ended.update(consumed_at=clock.now(), proven_at=None)


def confirm_registration_call(*, token: str, digits: str, meta: RequestMeta) -> bool:
    """The voice channel reports a registration call answered; "#" confirms it."""
    now = clock.now()
    if "#" not in digits:
        return False
    proof = Proof.objects.filter(
        voice_token_digest=voice_token_digest(token[:100]),
        answered_at__isnull=True,
        proven_at__isnull=True,
        consumed_at__isnull=True,
        expires_at__gt=now,
    ).first()
    if proof is None:
        return False
    with transaction.atomic():
        if not Proof.objects.filter(pk=proof.pk, answered_at__isnull=True).update(answered_at=now):
            return False
        audit(
            proof.user, "registration.call_answered", meta, purpose=proof.purpose, method=proof.kind
        )
    return True
