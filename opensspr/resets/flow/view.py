"""The page view-model the portal and the API render, read from a flow.

It reads and never writes. A decoy's options come from its stored, derived
list, so an unknown user ID shows a page like anyone's (attack A1).
"""

from dataclasses import dataclass, field
from datetime import datetime

from opensspr.methods.base import channel_digest
from opensspr.methods.questions import Question, question_text
from opensspr.methods.registry import get_method, implemented_kinds
from opensspr.policy.kinds import MethodKind
from opensspr.policy.models import SsprPolicy
from opensspr.policy.reset_selectors import eligibility_for, get_sspr_policy
from opensspr.resets.models import Challenge, FlowState, ResetFlow


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
    # Whether ``gates_required`` is final. Before the first gate it is the policy's number,
    # the same for every ID; an administrator's second gate (always two) is only told once
    # the first is passed, so the first step reads "step 1", never "1 of 1" then "2 of 2".
    total_known: bool = True


def channel_key(channel: str) -> str:
    """A registered channel as gates record it (the methods store digests)."""
    return channel if channel in ("app", "questions") else channel_digest(channel)


def available_options(
    flow: ResetFlow, policy: SsprPolicy | None = None
) -> tuple[MethodOption, ...]:
    """Methods for the next gate: the allowed and registered ones (decoys: derived).

    A gate may not reuse a method or reach data an earlier gate reached (attack
    A17); security questions come only after a possession gate (OWASP SQ-1, A3).
    """
    kinds_done = {g["kind"] for g in flow.gates_passed}
    channels_done = {g["channel"] for g in flow.gates_passed}
    implemented = implemented_kinds()
    if flow.decoy or flow.user is None:
        kinds = [MethodKind(k) for k in flow.decoy_kinds]
    else:
        decision = eligibility_for(flow.user, policy)
        kinds = [m.kind for m in decision.methods if channel_key(m.channel) not in channels_done]
    options = []
    for kind in kinds:
        method = get_method(kind)
        if method is None or kind not in implemented or kind.value in kinds_done:
            continue
        if kind == MethodKind.SECURITY_QUESTIONS and not flow.gates_passed:
            continue
        options.append(MethodOption(kind, method.needs_contact))
    order = list(MethodKind)
    return tuple(sorted(options, key=lambda o: order.index(o.kind)))


def open_challenge(flow: ResetFlow, now: datetime) -> Challenge | None:
    """The flow's live challenge: the latest one neither consumed nor expired."""
    return (
        flow.challenges.filter(consumed_at__isnull=True, expires_at__gt=now)
        .order_by("-issued_at", "-pk")
        .first()
    )


_UNREAD = object()


def view(
    flow: ResetFlow,
    handle: str,
    now: datetime,
    *,
    policy: SsprPolicy | None = None,
    challenge: Challenge | object | None = _UNREAD,
    options: tuple[MethodOption, ...] | None = None,
) -> FlowView:
    """The page for ``flow``; pass what the step already holds to skip reading it again."""
    policy = policy or get_sspr_policy()
    verifying = flow.state == FlowState.VERIFY
    if not verifying:
        challenge = None
    elif challenge is _UNREAD:
        challenge = open_challenge(flow, now)
    if verifying and options is None:
        options = available_options(flow, policy)
    return FlowView(
        handle=handle,
        state=FlowState(flow.state),
        operation=flow.operation,
        gate=len(flow.gates_passed) + 1,
        gates_required=flow.gates_required if flow.gates_passed else policy.methods_required,
        options=options if verifying and options is not None else (),
        challenge=_challenge_view(challenge) if isinstance(challenge, Challenge) else None,
        expires_at=flow.expires_at,
        blocked_reason=flow.reason if flow.state == FlowState.BLOCKED else "",
        unlock_offered=policy.unlock_without_reset,
        total_known=bool(flow.gates_passed) or policy.methods_required >= 2,
    )


def _challenge_view(challenge: Challenge) -> ChallengeView:
    questions = tuple(
        Question(key, question_text(key) or "") for key in challenge.question_keys or ()
    )
    return ChallengeView(
        MethodKind(challenge.kind),
        challenge.expires_at,
        challenge.answered_at is not None,
        questions,
        challenge.shown_as,
    )
