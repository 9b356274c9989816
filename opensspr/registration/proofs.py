"""Proof rows: what registration adds to the code primitive (``methods.challenges``).

A proof is a code challenge owned by one browser session, for one purpose
(the person's identity, or possession of a new value). The primitive issues,
reserves tries, confirms calls and consumes; this module adds the session, the
purpose, and the per-person throttles (``throttles`` rules of scope
``registration``: sends per kind, wrong codes per hour).

Invariants:

* A code is stored only as a keyed digest bound to its proof's random ``ref``
  (``methods.base.code_digest``); it lives 5 minutes and allows 5 tries. Each
  try, and the failure it may be, is reserved with one conditional UPDATE before
  the answer is compared (the failure given back when the answer was right), so
  parallel requests holding stale copies of the row compare at most 5 answers
  between them; the hourly wrong code (``registration.wrong_code``) is reserved
  before that, so at most its limit are compared over all the person's proofs,
  and ``mark_proven`` refuses a proof with 5 wrong answers.
* A proof passes once: one conditional UPDATE moves it from open to proven, so a
  replay or two parallel submissions can't both pass (attack A8).
* A wrong answer to an identity proof (proving it's the person before security
  info changes) also counts against the person's 24-hour verification failures,
  the reset flow's own counter (``sspr.verify_failure``, keyed by their user ID):
  at most its limit are compared in a day across both, a wrong answer reaching
  it blocks both for 24 hours (``blocked_today``), and the person is told by
  email and text (``notify.notify_identity_blocked``). Whoever guesses here has
  the password, so the hourly limit alone (about 240 guesses a day) was too many.
* Sends and failures are counted (and reserved) per person by the throttle
  module, under its row lock. Texts and calls also draw on the per-address and
  global phone budgets (attack A4).
* Issuing a proof ends the session's earlier open proof of the same purpose:
  one live code at a time (OWASP MFA-1).
* A change or removal of a method ends the person's open proofs and identity
  windows in every other session (``end_other_sessions``).
"""

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from opensspr.accounts.models import User
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.methods import challenges
from opensspr.methods.challenges import (
    MAX_TRIES_PER_CODE,
    code_matches,
)
from opensspr.policy.kinds import MethodKind
from opensspr.registration import guesses, notify
from opensspr.registration.errors import ProofError
from opensspr.registration.models import Proof, ProofPurpose, RegistrationState
from opensspr.throttles import rules, service

#: Wrong codes a person may type in an hour, over all their proofs.
FAILURES_PER_HOUR = rules.REGISTRATION_WRONG_CODE.max_uses()


def audit(
    user: User,
    activity: Activity,
    meta: RequestMeta,
    *,
    outcome: Outcome = Outcome.SUCCESS,
    reason: str = "",
    **details: str,
) -> None:
    """One event of a proof (the one challenge audit helper); inside the change's transaction."""
    challenges.record_challenge_event(
        user, activity, meta, outcome=outcome, reason=reason, details=details
    )


def lock_state(user: User) -> RegistrationState:
    """The person's bookkeeping row, locked until the transaction ends (one change at a time)."""
    state, _created = RegistrationState.objects.select_for_update().get_or_create(user=user)
    return state


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
            if guesses.hour_used_up(user, now):
                raise ProofError("throttled")
            if purpose == ProofPurpose.IDENTITY:
                guesses.refuse_if_paused(user, now, kind)
            send = rules.REGISTRATION_SEND_BY_KIND.get(kind)
            if send and not service.hit(send, str(user.pk), now=now).allowed:
                raise ProofError("too_many_sends")
            if challenges.phone_budget_refusal(kind, meta, now) is not None:
                raise ProofError("phone_budget")
            _end_open(user, session, purpose, now)
            try:
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
            except challenges.DestinationHeldError:  # rolls back every count taken above
                raise ProofError("send_held") from None
            audit(
                user,
                Activity.REGISTRATION_PROOF_STARTED,
                meta,
                purpose=purpose.value,
                method=kind.value,
            )
    except ProofError as exc:
        audit(
            user,
            Activity.REGISTRATION_PROOF_REFUSED,
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
    issued = challenges.issue(kind, bound_to=f"registration:{ref}", now=now)
    proof = Proof.objects.create(
        user=user,
        session_digest=session,
        purpose=purpose,
        kind=kind.value,
        ref=ref,
        value=value,
        code_digest=issued.code_digest,
        voice_token_digest=issued.token_digest,
        destination_digest=destination_digest,
        issued_at=now,
        expires_at=issued.expires_at,
    )
    message = notify.proof_message(
        kind=challenges.MESSAGE_KIND[kind],
        to=to,
        identity=purpose == ProofPurpose.IDENTITY,
        code=issued.code,
        voice_token=issued.token,
        ref=ref,
        meta=meta,
        expires_at=issued.expires_at,
    )
    challenges.deliver(message, meta, now=now)
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

    ``proof`` may be a stale copy: the person's hourly wrong code, then the
    try and the failure on the proof, are reserved in the database before the
    answer is compared, and given back when it was right.
    """
    now = clock.now()
    if proof.expires_at <= now:
        raise ProofError("code_expired")
    if proof.kind in (MethodKind.MOBILE_VOICE, MethodKind.OFFICE_VOICE):
        if guesses.hour_used_up(proof.user, now):
            raise ProofError("throttled")
        if proof.purpose == ProofPurpose.IDENTITY:
            guesses.refuse_if_paused(proof.user, now, proof.kind)
        if proof.answered_at is None:
            raise ProofError("call_not_answered")
        return
    reservations = guesses.reserve_failure(proof, now)
    if matches is not None:
        right = matches()
    else:
        right = code_matches(f"registration:{proof.ref}", proof.code_digest, answer[:64])
    if right:
        guesses.give_back_failure(proof, reservations)
        return
    proof.refresh_from_db(fields=["tries", "failures"])
    dead = proof.tries >= MAX_TRIES_PER_CODE
    daily = [r for r in reservations if r.rule is rules.SSPR_VERIFY_FAILURE and r.penalised]
    blocked = any(r.rule.final(r.verdict.used) for r in daily)  # the day's block, not a pause
    paused = bool(daily) and not blocked
    with transaction.atomic():
        audit(
            proof.user,
            Activity.REGISTRATION_PROOF_FAILED,
            meta,
            outcome=Outcome.FAILURE,
            reason="code_dead" if dead else "wrong_code",
            purpose=proof.purpose,
            method=proof.kind,
        )
        if blocked:  # this wrong answer set the day's block: once per block
            audit(
                proof.user,
                Activity.REGISTRATION_IDENTITY_BLOCKED,
                meta,
                outcome=Outcome.FAILURE,
                reason="verify_failure",
                method=proof.kind,
            )
            notify.notify_identity_blocked(user=proof.user, meta=meta)
    if blocked:
        raise ProofError("blocked_today")
    until = daily[0].blocked_until if paused else None
    if until is not None and not dead:
        raise ProofError("invalid_code_paused", retry_after=rules.VERIFY_PAUSES.wait(until, now))
    raise ProofError("code_dead" if dead else "invalid_code")


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

    def answered(proof: Proof) -> None:
        audit(
            proof.user,
            Activity.REGISTRATION_CALL_ANSWERED,
            meta,
            purpose=proof.purpose,
            method=proof.kind,
        )

    confirmed = challenges.confirm_call(
        Proof, token=token, digits=digits, now=clock.now(), then=answered, proven_at__isnull=True
    )
    return confirmed is not None
