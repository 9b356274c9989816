"""One code-challenge primitive behind every "we sent you a code" and "we called you".

Reset gates (``resets.Challenge``) and security-info proofs (``registration.Proof``)
keep the same state (:class:`~opensspr.methods.models.CodeChallengeState`); this
module is the only code that moves it.

Invariants:

* A code is made by ``secrets`` and stored only as a keyed digest bound to its
  owner (a flow or a proof's random ref), compared in constant time
  (``methods.base.code_matches``). A call carries a one-time token, stored as a
  keyed digest too.
* A try is reserved with one conditional UPDATE *before* the answer is compared
  (``reserve_try``): parallel requests holding stale copies of the row compare at
  most ``MAX_TRIES_PER_CODE`` answers between them.
* A challenge lives ``CODE_TTL`` and is consumed once: one conditional UPDATE
  from open to consumed (``consume_once``), so a replay or the slower of two
  parallel submissions finds nothing (attack A8).
* A call is answered once, with "#" (``confirm_call``), while open.
* Texts and calls cost money: the per-address and global phone budgets are
  asked through ``phone_budget_refusal`` whoever sends (attack A4).
* One inbox or phone gets at most ``DESTINATION_CODES`` codes and calls in its
  window, and none within ``DESTINATION_COOLDOWN`` of the last, whoever asks
  (attack A5): ``deliver`` counts every send against its destination and raises
  ``DestinationHeldError`` instead of sending. The refusal is about the
  destination, never the account, so it reads the same for every user ID; a
  caller raises it inside its transaction, which rolls the count back.
"""

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from opensspr.accounts.models import User
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.channels import MessageKind, OutgoingMessage, enqueue_message
from opensspr.channels.budgets import phone_budget_exceeded
from opensspr.core import clock
from opensspr.core.crypto import keyed_digest
from opensspr.core.prepared import update_where
from opensspr.core.request_meta import RequestMeta
from opensspr.methods.base import (
    CODE_TTL,
    MAX_TRIES_PER_CODE,
    MethodError,
    code_digest,
    code_matches,
    new_code,
)
from opensspr.methods.models import CodeChallengeState
from opensspr.policy.kinds import MethodKind
from opensspr.throttles import rules, service
from opensspr.throttles.rules import Rule

__all__ = [
    "CODE_DIGITS",
    "CODE_TTL",
    "MAX_TRIES_PER_CODE",
    "MESSAGE_KIND",
    "PHONE_KINDS",
    "DestinationHeldError",
    "Issued",
    "SendLimitError",
    "code_digest",
    "code_matches",
    "confirm_call",
    "consume_once",
    "deliver",
    "destination_key",
    "hold_destination",
    "issue",
    "new_call_token",
    "new_code",
    "phone_budget_refusal",
    "record_challenge_event",
    "reserve_try",
    "voice_token_digest",
]

#: The kinds that send a text or place a call: they draw on the phone budgets.
PHONE_KINDS = frozenset({MethodKind.MOBILE_SMS, MethodKind.MOBILE_VOICE, MethodKind.OFFICE_VOICE})


#: How each kind reaches the person, and how long its code is (a call has none).
MESSAGE_KIND = {
    MethodKind.EMAIL: MessageKind.EMAIL,
    MethodKind.MOBILE_SMS: MessageKind.SMS,
    MethodKind.MOBILE_VOICE: MessageKind.VOICE,
    MethodKind.OFFICE_VOICE: MessageKind.VOICE,
}
CODE_DIGITS = {MethodKind.EMAIL: 8, MethodKind.MOBILE_SMS: 6}


@dataclass(frozen=True)
class Issued:
    """A fresh secret for one challenge: a code to send, or a token for a call.

    ``code`` and ``token`` go into the message only; the challenge row keeps the
    digests.
    """

    expires_at: datetime
    code: str = field(default="", repr=False)
    code_digest: str = ""
    token: str = field(default="", repr=False)
    token_digest: str = ""


def issue(kind: MethodKind | str, *, bound_to: str, now: datetime) -> Issued:
    """A code (email, text) bound to ``bound_to``, or a one-time call token (voice).

    ``bound_to`` is the owner's reference (a flow, a proof's random ref): a code
    from one owner is worthless for another (ASVS 6.6.2).
    """
    kind = MethodKind(kind)
    expires_at = now + CODE_TTL
    if MESSAGE_KIND[kind] == MessageKind.VOICE:
        token, token_digest = new_call_token()
        return Issued(expires_at, token=token, token_digest=token_digest)
    code = new_code(CODE_DIGITS[kind])
    return Issued(expires_at, code=code, code_digest=code_digest(bound_to, code))


class DestinationHeldError(MethodError):
    """This inbox or phone had a code or call too recently, or too many (attack A5)."""

    def __init__(self, until: datetime | None) -> None:
        super().__init__("send_held")
        self.until = until


def destination_key(kind: MessageKind | str, to: str) -> str:
    """One key per inbox or phone: a text and a call to one number count together."""
    medium = "email" if MessageKind(kind) == MessageKind.EMAIL else "phone"
    return f"{medium}:{to.strip().casefold()}"


class SendLimitError(MethodError):
    """The person's own send budget (``budget``) is spent: nothing is sent."""

    def __init__(self) -> None:
        super().__init__("send_limit")


def hold_destination(
    kind: MessageKind | str, to: str, now: datetime, *, budget: tuple[Rule, str] | None = None
) -> None:
    """Count one code or call to ``to``; ``DestinationHeldError`` when it must wait.

    The cooldown is asked first, so a refused burst spends nothing of the cap; then
    ``budget``, the sender's own limit, if given (``SendLimitError``): all in one batch.
    """
    key = destination_key(kind, to)
    takes = [(rules.DESTINATION_COOLDOWN, key), (rules.DESTINATION_CODES, key)]
    verdicts = service.hit_many([*takes, *([budget] if budget else [])], now=now)
    if verdicts[-1].allowed:
        return
    if len(verdicts) > len(takes):
        raise SendLimitError
    raise DestinationHeldError(verdicts[-1].blocked_until)


def deliver(
    message: OutgoingMessage,
    meta: RequestMeta,
    may_send: Callable[[], bool] | None = None,
    *,
    now: datetime | None = None,
    budget: tuple[Rule, str] | None = None,
) -> bool:
    """Queue ``message`` unless its destination is held (raises) or ``may_send`` says no.

    Call inside the transaction that records the challenge: a hold raised here
    (``DestinationHeldError``, or ``SendLimitError`` over the sender's ``budget``)
    rolls the counts back with it. A refusal by ``may_send`` (a cost budget, A4)
    sends nothing silently.
    """
    hold_destination(message.kind, message.to, now or clock.now(), budget=budget)
    if may_send is not None and not may_send():
        return False
    enqueue_message(message, meta=meta)
    return True


def voice_token_digest(token: str) -> str:
    """What a challenge keeps of its call's one-time callback token."""
    return keyed_digest("reset-voice-token", token)


def new_call_token() -> tuple[str, str]:
    """A fresh one-time callback token for a call, and the digest to store."""
    token = secrets.token_urlsafe(32)
    return token, voice_token_digest(token)


def reserve_try[C: CodeChallengeState](
    challenge: C, *, limit: int = MAX_TRIES_PER_CODE, counted: tuple[str, ...] = ()
) -> bool:
    """Reserve one comparison of an answer; False once ``limit`` tries are used.

    Call it before comparing: the reservation is one conditional UPDATE on the
    row, so whatever a stale copy of ``challenge`` says, at most ``limit``
    answers are ever compared. ``counted``: the owner's counters that go up with
    the try (a failure reserved with it). The statement is made once per shape
    (``core.prepared``): every answer of every reset runs it.
    """
    return bool(
        update_where(
            type(challenge),
            {"pk": challenge.pk, "tries__lt": limit},
            {},
            counted=("tries", *counted),
        )
    )


def consume_once[C: CodeChallengeState](challenge: C, now: datetime, **changes: Any) -> bool:
    """End ``challenge`` (used, replaced, given up); True for the one caller that did."""
    filters = {"pk": challenge.pk, "consumed_at__isnull": True}
    return bool(update_where(type(challenge), filters, {"consumed_at": now, **changes}))


def confirm_call[C: CodeChallengeState](
    model: type[C],
    *,
    token: str,
    digits: str,
    now: datetime,
    then: Callable[[C], None] | None = None,
    **open_filter: Any,
) -> C | None:
    """The voice channel reports the call answered; "#" confirms it, once, while open.

    ``then`` runs in the same transaction as the confirmation (its audit row);
    ``open_filter`` adds what "still open" means to the owner (a proof not yet
    proven). Returns the confirmed challenge, or None.
    """
    if "#" not in digits:
        return None
    challenge = (
        model._default_manager.filter(
            voice_token_digest=voice_token_digest(token[:100]),
            answered_at__isnull=True,
            consumed_at__isnull=True,
            expires_at__gt=now,
            **open_filter,
        )
        .only("pk")
        .first()
    )
    if challenge is None:
        return None
    with transaction.atomic():
        if not model._default_manager.filter(pk=challenge.pk, answered_at__isnull=True).update(
            answered_at=now
        ):
            return None
        if then is None:
            return challenge  # only its pk was read; other fields load on use
        confirmed = model._default_manager.get(pk=challenge.pk)
        then(confirmed)
    return confirmed


def phone_budget_refusal(kind: MethodKind | str, meta: RequestMeta, now: datetime) -> str | None:
    """The phone budget a text or call to ``kind`` would exceed, or None (always None for email)."""
    if kind not in PHONE_KINDS:
        return None
    return phone_budget_exceeded(meta.ip_address, now)


def record_challenge_event(
    user: User | None,
    activity: Activity,
    meta: RequestMeta,
    *,
    outcome: Outcome = Outcome.SUCCESS,
    reason: str = "",
    target_label: str = "",
    details: Mapping[str, object] | None = None,
) -> None:
    """Audit one step of a challenge, the person as actor and target.

    Call inside the transaction that makes the change. ``details`` names the
    method and purpose, never a code, token or answer.
    """
    record_event(
        activity=activity,
        outcome=outcome,
        reason=reason,
        meta=meta,
        actor=user,
        target=user,
        target_label=target_label,
        details=details,
    )
