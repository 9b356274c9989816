"""Answering a gate: check the answer to the open challenge, pass the gate or count a failure.

Invariants:

* The account is looked at again before any answer is (``recheck``): disabled,
  out of scope, or the number a code went to replaced (a SIM swap reported to
  the helpdesk) ends the flow or refuses the gate.
* A failed verification is reserved against the user ID's throttle *before* the
  answer is compared and given back when it was right, and a try is reserved
  on the challenge the same way (``methods.challenges.reserve_try``): no burst
  of parallel wrong answers is compared beyond either limit (attack A2).
* Codes are bound to their flow, live 5 minutes, allow 5 tries and are consumed
  by one conditional UPDATE, in the transaction that passes the gate and audits
  it.
"""

from datetime import datetime
from typing import NoReturn

from django.db import transaction

from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.directory.base import DirectoryError
from opensspr.methods import challenges
from opensspr.methods.base import Answer, Started
from opensspr.methods.registry import get_method
from opensspr.policy.kinds import MethodKind
from opensspr.policy.reset_selectors import get_sspr_policy
from opensspr.resets.flow.completion import complete_gates, unlock_in_directory
from opensspr.resets.flow.errors import FlowError
from opensspr.resets.flow.events import (
    audit,
    block,
    count_or_block,
    failure_subject,
    flow_meta,
    limit_name,
    stop_if_blocked,
)
from opensspr.resets.flow.gates import COUNTED_PER_ANSWER, gate_context
from opensspr.resets.flow.recheck import recheck
from opensspr.resets.flow.transitions import Step, advance, load_flow_to_answer
from opensspr.resets.flow.view import FlowView, view
from opensspr.resets.models import Challenge, ResetFlow
from opensspr.throttles import rules, service
from opensspr.throttles.base import Reservation

CALLS = frozenset({MethodKind.MOBILE_VOICE, MethodKind.OFFICE_VOICE})
#: The audited reason of a block set by failed verifications.
FAILURE = limit_name(rules.SSPR_VERIFY_FAILURE)


def submit_verification(*, handle: str, answer: Answer, meta: RequestMeta) -> FlowView:
    """Check the answer to the open challenge; pass the gate or count a failure."""
    now = clock.now()
    flow, challenge = load_flow_to_answer(handle, now, Step.PASS_GATE)
    meta = flow_meta(flow, meta)
    if challenge is None:
        raise FlowError("code_expired")
    kind = MethodKind(challenge.kind)
    if kind in CALLS or kind in COUNTED_PER_ANSWER:
        # Nothing reserved below looks at the pause first (a call's answer isn't compared;
        # a question's use is counted before the reservation): look now. Every other
        # kind's reservation refuses a paused subject itself, in the statement that locks it.
        stop_if_blocked(flow, meta, now, kind.value)
    policy = get_sspr_policy()
    recheck(flow, meta, now, policy, challenge=challenge)
    if kind in CALLS:
        if challenge.answered_at is None or flow.decoy:
            raise FlowError("call_not_answered")
    else:
        _check_answer(flow, challenge=challenge, kind=kind, answer=answer, meta=meta, now=now)
    gates = [*flow.gates_passed, {"kind": kind.value, "channel": challenge.channel}]
    try:
        if len(gates) >= flow.gates_required:
            unlock_in_directory(flow)  # outside the transaction: it may wait for an agent
        with transaction.atomic():
            if not challenges.consume_once(challenge, now):
                raise FlowError("flow_conflict")  # a parallel submission took it first
            details = {"method": kind.value, "gate": len(gates)}
            audit(flow, Activity.RESET_GATE_PASSED, meta, details=details)
            if len(gates) < flow.gates_required:
                new = advance(flow, Step.PASS_GATE, gates_passed=gates)
            else:
                new = complete_gates(flow, gates, meta, now, policy)
    except DirectoryError as exc:
        with transaction.atomic():
            audit(flow, Activity.UNLOCK_FAILED, meta, outcome=Outcome.FAILURE, reason=exc.code)
        raise FlowError("directory_unavailable") from None
    return view(flow, new, now, policy=policy, challenge=None)


def _check_answer(
    flow: ResetFlow,
    *,
    challenge: Challenge,
    kind: MethodKind,
    answer: Answer,
    meta: RequestMeta,
    now: datetime,
) -> None:
    """Compare ``answer`` once a failure and a try are reserved; raise unless it is right."""
    if kind in COUNTED_PER_ANSWER:
        count_or_block(flow, COUNTED_PER_ANSWER[kind], meta, now)
    subject = failure_subject(flow, meta, now, kind.value)
    reservation = service.reserve(rules.SSPR_VERIFY_FAILURE, subject, now=now)
    if not reservation.allowed:  # a parallel request's wrong answer paused or blocked it
        until = reservation.blocked_until
        if until and (wait := rules.VERIFY_PAUSES.wait(until, now)) is not None:
            raise FlowError("paused", retry_after=wait)
        newly = reservation.verdict.newly_blocked
        block(flow, meta, now, why=FAILURE if newly else "blocked_elsewhere")
    method = get_method(kind)
    tried = challenges.reserve_try(challenge)
    started = Started(
        channel=challenge.channel,
        secret_digest=challenge.secret_digest,
        question_keys=tuple(challenge.question_keys or ()),
    )
    if (
        tried
        and method is not None
        and not flow.decoy
        and method.verify(gate_context(flow, meta, now), started, _bounded(answer))
    ):
        service.give_back(reservation)
        return
    _failed(flow, kind, meta, now, reservation, dead=not tried)


def _failed(
    flow: ResetFlow,
    kind: MethodKind,
    meta: RequestMeta,
    now: datetime,
    reservation: Reservation,
    *,
    dead: bool,
) -> NoReturn:
    """Audit the wrong answer and raise: with the tries left before the day's block and, after
    wrong answers in a row, the short pause to wait; the limit-th failure ends the flow."""
    with transaction.atomic():
        audit(
            flow,
            Activity.RESET_GATE_FAILED,
            meta,
            outcome=Outcome.FAILURE,
            reason="code_dead" if dead else "wrong_answer",
            details={"method": kind.value},
        )
    used = reservation.verdict.used
    wait = None
    if reservation.penalised and reservation.blocked_until and not reservation.rule.final(used):
        wait = rules.VERIFY_PAUSES.wait(reservation.blocked_until, now)
    if reservation.blocks_on_failure and wait is None:
        block(flow, meta, now, why=FAILURE)
    left = max(reservation.rule.max_uses() - used, 0) if used is not None else None
    if dead:
        raise FlowError("code_dead", tries_left=left, retry_after=wait)
    raise FlowError(
        "invalid_answers" if kind == MethodKind.SECURITY_QUESTIONS else "invalid_code",
        tries_left=left,
        retry_after=wait,
    )


def _bounded(answer: Answer) -> Answer:
    """Cut what was typed to a sane size before any hashing (a code or ~10 answers)."""
    if isinstance(answer, str):
        return answer[:64]
    return {str(k)[:32]: str(v)[:128] for k, v in list(answer.items())[:10]}
