"""The reset and unlock flow: a server-side state machine behind an opaque handle.

identify → (why are you having trouble?) → gate 1 → (gate 2) → new password → done

Invariants:

* The client holds only a handle; the row stores its keyed digest. Every step
  that changes the flow replaces the handle with one conditional UPDATE on the
  row's version, so an old handle, a replayed request or the slower of two
  parallel requests finds nothing and changes nothing (attacks A8, A9, A16).
* Every typed user ID gets a flow. One that can't succeed (unknown, or not
  eligible) is a *decoy*: it offers methods derived from a keyed digest of the
  ID, checks typed contact data against nothing, sends nothing and accepts no
  code, so it looks like any real flow (attack A1; docs/operators/sspr-policy.md).
* Gates must differ in method and in the data they reach (attack A17).
* Codes are bound to their flow, live 5 minutes, allow 5 tries, are consumed by
  one conditional UPDATE; the whole flow lives 15 minutes (reference §1.5).
"""

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F

from opensspr.accounts.identifiers import identifier_key
from opensspr.accounts.selectors import get_organisation, get_user_by_identifier
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event, unknown_identifier_label
from opensspr.channels.budgets import phone_budget_exceeded
from opensspr.core import clock
from opensspr.core.crypto import keyed_digest
from opensspr.core.request_meta import RequestMeta
from opensspr.methods.base import (
    MAX_TRIES_PER_CODE,
    Answer,
    GateContext,
    MethodError,
    Started,
    channel_digest,
)
from opensspr.methods.contact import voice_token_digest
from opensspr.methods.questions import Question, question_text
from opensspr.methods.registry import get_method, implemented_kinds
from opensspr.policy.eligibility import Reason, Scope
from opensspr.policy.kinds import MethodKind
from opensspr.policy.reset_selectors import eligibility_for, get_sspr_policy
from opensspr.resets import throttles
from opensspr.resets.models import Challenge, FlowState, Operation, ResetFlow

logger = logging.getLogger("opensspr.resets")
FLOW_TTL = timedelta(minutes=15)
THROTTLE_FOR_KIND = {
    MethodKind.EMAIL: throttles.Action.EMAIL,
    MethodKind.MOBILE_SMS: throttles.Action.SMS,
    MethodKind.MOBILE_VOICE: throttles.Action.CALL,
    MethodKind.OFFICE_VOICE: throttles.Action.CALL,
    MethodKind.APP_CODE: throttles.Action.PHONE_CHECK,  # "validating an authenticator app"
}
#: Counted per submission rather than per start: starting them sends nothing.
COUNTED_PER_ANSWER = {MethodKind.SECURITY_QUESTIONS: throttles.Action.QUESTIONS}


class FlowError(Exception):
    """A step that can't be taken; ``code`` picks the message the person sees."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class MethodOption:
    kind: MethodKind
    needs_contact: bool

    @property
    def label(self) -> str:
        return self.kind.label


@dataclass(frozen=True)
class ChallengeView:
    kind: MethodKind
    expires_at: datetime
    call_answered: bool = False
    questions: tuple[Question, ...] = ()  # security questions to answer, in order
    shown_as: str = ""  # the masked address or number the code or call went to


@dataclass(frozen=True)
class FlowView:
    handle: str = field(repr=False)
    state: FlowState
    operation: str
    gate: int  # the gate being passed (1-based) while verifying
    gates_required: int
    options: tuple[MethodOption, ...]
    challenge: ChallengeView | None
    expires_at: datetime
    blocked_reason: str  # a public code, or "throttled"
    unlock_offered: bool


# --- loading and advancing ------------------------------------------------------------


def _digest(handle: str) -> str:
    return keyed_digest("reset-handle", handle)


def _new_handle() -> tuple[str, str]:
    handle = secrets.token_urlsafe(32)
    return handle, _digest(handle)


def load_flow(handle: str, now: datetime) -> ResetFlow:
    flow = (
        ResetFlow.objects.select_related("user").filter(handle_digest=_digest(handle[:100])).first()
    )
    if flow is None:
        raise FlowError("flow_not_found")
    if flow.expires_at <= now and flow.state not in (FlowState.DONE, FlowState.BLOCKED):
        raise FlowError("flow_expired")
    return flow


def advance(flow: ResetFlow, **changes: object) -> str:
    """Apply ``changes`` only if nobody moved the flow meanwhile; return the new handle."""
    handle, digest = _new_handle()
    updated = ResetFlow.objects.filter(pk=flow.pk, version=flow.version).update(
        handle_digest=digest, version=F("version") + 1, **changes
    )
    if updated != 1:
        raise FlowError("flow_conflict")
    flow.refresh_from_db()
    return handle


def audit(
    flow: ResetFlow,
    activity: str,
    meta: RequestMeta,
    *,
    outcome: Outcome = Outcome.SUCCESS,
    reason: str = "",
    details: dict[str, object] | None = None,
) -> None:
    record_event(
        activity=activity,
        outcome=outcome,
        reason=reason,
        meta=meta,
        actor=flow.user,
        target=flow.user,
        target_label=flow.user.user_id if flow.user else unknown_identifier_label(flow.subject),
        details=details,
    )


# --- the view the portal and the API render ------------------------------------------


def _passed(flow: ResetFlow) -> tuple[set[str], set[str]]:
    kinds = {g["kind"] for g in flow.gates_passed}
    channels = {g["channel"] for g in flow.gates_passed}
    return kinds, channels


def available_options(flow: ResetFlow) -> tuple[MethodOption, ...]:
    """Methods for the next gate: the allowed and registered ones (decoys: derived)."""
    kinds_done, channels_done = _passed(flow)
    implemented = implemented_kinds()
    if flow.decoy or flow.user is None:
        kinds = [MethodKind(k) for k in flow.decoy_kinds]
    else:
        decision = eligibility_for(flow.user)
        kinds = [m.kind for m in decision.methods if _channel_key(m.channel) not in channels_done]
    options = []
    for kind in kinds:
        method = get_method(kind)
        if method is None or kind not in implemented or kind.value in kinds_done:
            continue
        if kind == MethodKind.SECURITY_QUESTIONS and not flow.gates_passed:
            continue  # only ever after a possession gate (OWASP SQ-1, attack A3)
        options.append(MethodOption(kind, method.needs_contact))
    order = list(MethodKind)
    return tuple(sorted(options, key=lambda o: order.index(o.kind)))


def _channel_key(channel: str) -> str:
    """A registered channel as gates record it (the methods store digests)."""
    return channel if channel in ("app", "questions") else channel_digest(channel)


def open_challenge(flow: ResetFlow, now: datetime) -> Challenge | None:
    return (
        flow.challenges.filter(consumed_at__isnull=True, expires_at__gt=now)
        .order_by("-issued_at", "-pk")
        .first()
    )


def view(flow: ResetFlow, handle: str, now: datetime) -> FlowView:
    challenge = open_challenge(flow, now) if flow.state == FlowState.VERIFY else None
    return FlowView(
        handle=handle,
        state=FlowState(flow.state),
        operation=flow.operation,
        gate=len(flow.gates_passed) + 1,
        gates_required=flow.gates_required
        if flow.gates_passed
        else get_sspr_policy().methods_required,
        options=available_options(flow) if flow.state == FlowState.VERIFY else (),
        challenge=_challenge_view(challenge) if challenge else None,
        expires_at=flow.expires_at,
        blocked_reason=flow.reason if flow.state == FlowState.BLOCKED else "",
        unlock_offered=get_sspr_policy().unlock_without_reset,
    )


def _challenge_view(challenge: Challenge) -> ChallengeView:
    questions = tuple(
        Question(key, question_text(key) or "") for key in challenge.question_keys or ()
    )
    return ChallengeView(
        MethodKind(challenge.kind),
        challenge.expires_at,
        challenge.confirmed_at is not None,
        questions,
        challenge.shown_as,
    )


# --- steps ------------------------------------------------------------------------------


def _decoy_kinds(key: str, allowed: set[MethodKind], gates: int) -> list[str]:
    """A stable, plausible method list for an ID that can't reset.

    Built like a real list: from pieces of data (a mobile number brings its text
    and its call together), at least as many pieces as gates, chosen by a keyed
    digest of the typed ID so retries show the same list.
    """
    pieces = [
        [k]
        for k in (MethodKind.EMAIL, MethodKind.OFFICE_VOICE, MethodKind.APP_CODE)
        if k in allowed
    ]
    mobile = [k for k in (MethodKind.MOBILE_SMS, MethodKind.MOBILE_VOICE) if k in allowed]
    if mobile:
        pieces.append(mobile)
    if not pieces:
        return []
    ranked = sorted(pieces, key=lambda p: keyed_digest("reset-decoy", f"{key}\x00{p[0]}"))
    spread = int(keyed_digest("reset-decoy-n", key)[:2], 16) % len(pieces)
    chosen = ranked[: min(len(pieces), max(gates, 1 + spread))]
    return [k.value for piece in chosen for k in piece]


def start_flow(*, identifier: str, meta: RequestMeta) -> FlowView:
    """Open a flow for whatever was typed. The caller has checked the captcha."""
    now = clock.now()
    key = identifier_key(identifier)
    subject = throttles.subject_key(key)
    user = get_user_by_identifier(identifier)
    policy = get_sspr_policy()
    decision = eligibility_for(user, policy)
    handle, digest = _new_handle()
    state = FlowState.CHOOSE_OPERATION if policy.unlock_without_reset else FlowState.VERIFY
    reason = "" if decision.eligible else (decision.reason or Reason.UNKNOWN_USER).value
    if policy.scope == Scope.NONE and not policy.admins_may_reset:
        state, reason = FlowState.BLOCKED, Reason.ORG_DISABLED.value  # the same for every ID
    elif throttles.blocked_until(subject, now):
        state, reason = FlowState.BLOCKED, "throttled"
    allowed = {
        k
        for k in MethodKind
        if k in implemented_kinds() and getattr(policy, f"allow_{k.value}", False)
    }
    with transaction.atomic():
        flow = ResetFlow.objects.create(
            handle_digest=digest,
            subject=subject,
            user=user,
            decoy=not decision.eligible,
            reason=reason,
            state=state,
            operation="" if state == FlowState.CHOOSE_OPERATION else Operation.RESET,
            gates_required=decision.gates_required,
            decoy_kinds=_decoy_kinds(key, allowed, decision.gates_required),
            correlation_id=meta.correlation_id,
            created_at=now,
            expires_at=now + FLOW_TTL,
        )
        audit(
            flow,
            "reset.started",
            meta,
            reason=reason,
            outcome=Outcome.SUCCESS if decision.eligible else Outcome.FAILURE,
        )
    return view(flow, handle, now)


def get_flow(*, handle: str) -> FlowView:
    """Read-only: the flow's current view, under the same handle."""
    now = clock.now()
    return view(load_flow(handle, now), handle, now)


def choose_operation(*, handle: str, operation: Operation, meta: RequestMeta) -> FlowView:
    now = clock.now()
    flow = load_flow(handle, now)
    if flow.state != FlowState.CHOOSE_OPERATION:
        raise FlowError("wrong_step")
    if operation == Operation.UNLOCK and not get_sspr_policy().unlock_without_reset:
        raise FlowError("operation_unavailable")
    new = advance(flow, state=FlowState.VERIFY, operation=operation)
    audit(flow, "reset.operation_chosen", meta, details={"operation": operation.value})
    return view(flow, new, now)


def _block(flow: ResetFlow, meta: RequestMeta, why: str) -> FlowView:
    handle = advance(flow, state=FlowState.BLOCKED, reason="throttled")
    audit(flow, "reset.blocked", meta, outcome=Outcome.FAILURE, reason=why)
    raise FlowBlockedError(view(flow, handle, clock.now()))


class FlowBlockedError(FlowError):
    """The throttle ended the flow; carries the final view to show."""

    def __init__(self, final: FlowView) -> None:
        super().__init__("throttled")
        self.view = final


def _context(
    flow: ResetFlow,
    meta: RequestMeta,
    now: datetime,
    *,
    may_send: Callable[[], bool] | None = None,
) -> GateContext:
    return GateContext(
        user=None if flow.decoy else flow.user,
        flow_ref=f"flow{flow.pk}",
        correlation_id=flow.correlation_id,
        organisation=get_organisation().name,
        meta=meta,
        now=now,
        may_send=may_send or (lambda: True),
    )


PHONE_KINDS = frozenset({MethodKind.MOBILE_SMS, MethodKind.MOBILE_VOICE, MethodKind.OFFICE_VOICE})


def _within_phone_budget(
    flow: ResetFlow, kind: MethodKind, meta: RequestMeta, now: datetime
) -> bool:
    """Texts and calls cost money: per-address and global hourly budgets (attack A4).

    Counted only for real flows (a decoy sends nothing anyway). Over budget the
    person sees the usual page, nothing is sent, and the operator is told: a
    warning log line, a metric and an audit row.
    """
    if kind not in PHONE_KINDS or flow.decoy:
        return True
    which = phone_budget_exceeded(meta.ip_address, now)
    if which is None:
        return True
    audit(
        flow,
        "reset.budget_exceeded",
        meta,
        outcome=Outcome.FAILURE,
        reason=which,
        details={"method": kind.value},
    )
    return False


def begin_verification(
    *, handle: str, kind: MethodKind, contact: str = "", meta: RequestMeta
) -> FlowView:
    """Start a gate with ``kind``: check the typed contact, send the code or place the call."""
    now = clock.now()
    flow = load_flow(handle, now)
    if flow.state != FlowState.VERIFY:
        raise FlowError("wrong_step")
    _stop_if_blocked(flow, meta, now)
    option = next((o for o in available_options(flow) if o.kind == kind), None)
    method = get_method(kind)
    if option is None or method is None:
        raise FlowError("method_unavailable")
    # Counted before, and outside, the transaction below: a block must stick even
    # when the step then fails (reference §5.1).
    for action in dict.fromkeys(_throttle_actions(kind)):
        if not throttles.consume(flow.subject, action, now).allowed:
            _block(flow, meta, action.value)
    ctx = _context(flow, meta, now, may_send=lambda: _within_phone_budget(flow, kind, meta, now))
    try:
        with transaction.atomic():
            if option.needs_contact:
                _check_decoy_contact(flow)
            started = method.begin(ctx, contact)
            flow.challenges.filter(consumed_at__isnull=True).update(consumed_at=now)
            _save_challenge(flow, kind, started, now)
            new = advance(flow)
            audit(flow, "reset.method_started", meta, details={"method": kind.value})
    except MethodError as exc:
        audit(
            flow,
            "reset.method_refused",
            meta,
            outcome=Outcome.FAILURE,
            reason=exc.code,
            details={"method": kind.value},
        )
        raise FlowError(exc.code) from None
    return view(flow, new, now)


def _throttle_actions(kind: MethodKind) -> list[throttles.Action]:
    """What starting ``kind`` counts: checking a typed number, then the send itself."""
    if kind in COUNTED_PER_ANSWER:
        return []
    actions = [throttles.Action.PHONE_CHECK] if kind in PHONE_KINDS else []
    return [*actions, THROTTLE_FOR_KIND[kind]]


def _stop_if_blocked(flow: ResetFlow, meta: RequestMeta, now: datetime) -> None:
    """A block set by any flow of this user ID ends every flow of it at once."""
    if throttles.blocked_until(flow.subject, now):
        _block(flow, meta, "blocked_elsewhere")


def _check_decoy_contact(flow: ResetFlow) -> None:
    if flow.decoy:
        raise MethodError("contact_mismatch")


def _save_challenge(flow: ResetFlow, kind: MethodKind, started: Started, now: datetime) -> None:
    Challenge.objects.create(
        flow=flow,
        kind=kind.value,
        channel=started.channel,
        secret_digest=started.secret_digest,
        question_keys=list(started.question_keys),
        shown_as=started.shown_as[:64],
        issued_at=now,
        expires_at=started.expires_at or (now + timedelta(minutes=5)),
        voice_token_digest=voice_token_digest(started.voice_token) if started.voice_token else "",
    )


def submit_verification(*, handle: str, answer: Answer, meta: RequestMeta) -> FlowView:
    """Check the answer to the open challenge; pass the gate or count a failure."""
    from opensspr.resets.completion import gates_complete

    now = clock.now()
    flow = load_flow(handle, now)
    if flow.state != FlowState.VERIFY:
        raise FlowError("wrong_step")
    _stop_if_blocked(flow, meta, now)
    challenge = open_challenge(flow, now)
    if challenge is None:
        raise FlowError("code_expired")
    recheck(flow, meta, now, challenge=challenge)
    kind = MethodKind(challenge.kind)
    if kind in (MethodKind.MOBILE_VOICE, MethodKind.OFFICE_VOICE):
        passed = challenge.confirmed_at is not None and not flow.decoy
        if not passed:
            raise FlowError("call_not_answered")
    else:
        passed = _check_answer(
            flow, challenge=challenge, kind=kind, answer=answer, meta=meta, now=now
        )
    if not Challenge.objects.filter(pk=challenge.pk, consumed_at__isnull=True).update(
        consumed_at=now
    ):
        raise FlowError("flow_conflict")  # a parallel submission took it first
    gates = [*flow.gates_passed, {"kind": kind.value, "channel": challenge.channel}]
    audit(flow, "reset.gate_passed", meta, details={"method": kind.value, "gate": len(gates)})
    if len(gates) < flow.gates_required:
        return view(flow, advance(flow, gates_passed=gates), now)
    return gates_complete(flow, gates, meta, now)


def _check_answer(
    flow: ResetFlow,
    *,
    challenge: Challenge,
    kind: MethodKind,
    answer: Answer,
    meta: RequestMeta,
    now: datetime,
) -> bool:
    method = get_method(kind)
    if (
        kind in COUNTED_PER_ANSWER
        and not throttles.consume(flow.subject, COUNTED_PER_ANSWER[kind], now).allowed
    ):
        _block(flow, meta, COUNTED_PER_ANSWER[kind].value)
    tries = Challenge.objects.filter(pk=challenge.pk, attempts__lt=MAX_TRIES_PER_CODE).update(
        attempts=F("attempts") + 1
    )
    started = Started(
        channel=challenge.channel,
        secret_digest=challenge.secret_digest,
        question_keys=tuple(challenge.question_keys or ()),
    )
    ok = (
        bool(tries)
        and method is not None
        and not flow.decoy
        and method.verify(_context(flow, meta, now), started, _bounded(answer))
    )
    if ok:
        return True
    audit(
        flow,
        "reset.gate_failed",
        meta,
        outcome=Outcome.FAILURE,
        reason="code_dead" if not tries else "wrong_answer",
        details={"method": kind.value},
    )
    if not throttles.record_failure(flow.subject, now).allowed:
        _block(flow, meta, throttles.Action.VERIFY_FAILURE.value)
    if not tries:
        raise FlowError("code_dead")
    raise FlowError("invalid_answers" if kind == MethodKind.SECURITY_QUESTIONS else "invalid_code")


def _bounded(answer: Answer) -> Answer:
    """Cut what was typed to a sane size before any hashing (a code or ~10 answers)."""
    if isinstance(answer, str):
        return answer[:64]
    return {str(k)[:32]: str(v)[:128] for k, v in list(answer.items())[:10]}


def recheck(
    flow: ResetFlow, meta: RequestMeta, now: datetime, *, challenge: Challenge | None = None
) -> None:
    """The account may have changed since the flow began: look again before trusting it.

    Disabled, taken out of scope, or the number a code went to replaced (a SIM
    swap reported to the helpdesk): the flow ends or the gate is refused, before
    any answer is looked at.
    """
    if flow.decoy or flow.user is None:
        return
    flow.user.refresh_from_db()
    decision = eligibility_for(flow.user)
    if not decision.eligible:
        handle = advance(flow, state=FlowState.BLOCKED, reason="no_longer_eligible")
        audit(flow, "reset.blocked", meta, outcome=Outcome.FAILURE, reason="no_longer_eligible")
        raise FlowBlockedError(view(flow, handle, now))
    registered = {_channel_key(m.channel) for m in decision.methods}
    if challenge is not None and challenge.channel not in registered:
        Challenge.objects.filter(pk=challenge.pk).update(consumed_at=now)
        audit(
            flow,
            "reset.gate_failed",
            meta,
            outcome=Outcome.FAILURE,
            reason="channel_changed",
            details={"method": challenge.kind},
        )
        raise FlowError("method_unavailable")


def change_method(*, handle: str, meta: RequestMeta) -> FlowView:
    """ "Try another way": drop the open challenge and show the options again."""
    now = clock.now()
    flow = load_flow(handle, now)
    if flow.state != FlowState.VERIFY:
        raise FlowError("wrong_step")
    flow.challenges.filter(consumed_at__isnull=True).update(consumed_at=now)
    return view(flow, advance(flow), now)


def confirm_voice_call(*, token: str, digits: str, meta: RequestMeta) -> bool:
    """The provider (or the demo outbox) reports the call answered; '#' confirms it."""
    now = clock.now()
    if "#" not in digits:
        return False
    return (
        Challenge.objects.filter(
            voice_token_digest=voice_token_digest(token[:100]),
            consumed_at__isnull=True,
            confirmed_at__isnull=True,
            expires_at__gt=now,
        ).update(confirmed_at=now)
        == 1
    )
