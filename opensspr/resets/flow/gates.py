"""Beginning a gate (send a code, place a call, ask the questions), trying another way,
and the call answered with "#".

Gates must differ in method and in the data they reach (attack A17,
``view.available_options``). Each send is counted against the user ID's
throttles *before* anything is sent, and committed apart, so a block sticks
even when the step then fails (reference §5.1).
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction

from opensspr.accounts.selectors import get_organisation
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import written_together
from opensspr.core import clock
from opensspr.core.prepared import insert, update_where
from opensspr.core.request_meta import RequestMeta
from opensspr.methods import challenges
from opensspr.methods.base import GateContext, MethodError, Started
from opensspr.methods.registry import get_method
from opensspr.policy.kinds import MethodKind
from opensspr.policy.reset_selectors import get_sspr_policy
from opensspr.resets.flow.errors import FlowError
from opensspr.resets.flow.events import audit, block, failure_subject, flow_meta, paused_until
from opensspr.resets.flow.recheck import ensure_directory_reachable
from opensspr.resets.flow.transitions import Step, advance, load_flow
from opensspr.resets.flow.view import FlowView, available_options, view
from opensspr.resets.models import Challenge, ResetFlow
from opensspr.throttles import rules, service
from opensspr.throttles.base import Reservation
from opensspr.throttles.rules import Rule

#: The person's send budgets, spent only when the typed address or number matched (a
#: mismatch sends nothing and is counted per flow and per client address instead, A21).
#: Starting the authenticator app sends nothing: its guesses count as verify failures.
THROTTLE_FOR_KIND = {
    MethodKind.EMAIL: rules.SSPR_EMAIL,
    MethodKind.MOBILE_SMS: rules.SSPR_SMS,
    MethodKind.MOBILE_VOICE: rules.SSPR_CALL,
    MethodKind.OFFICE_VOICE: rules.SSPR_CALL,
}
#: Counted per submission rather than per start: starting them sends nothing.
COUNTED_PER_ANSWER = {MethodKind.SECURITY_QUESTIONS: rules.SSPR_QUESTIONS}


def gate_context(
    flow: ResetFlow,
    meta: RequestMeta,
    now: datetime,
    *,
    may_send: Callable[[], bool] | None = None,
    send_budget: tuple[Rule, str] | None = None,
) -> GateContext:
    """What a method sees of the flow: never the user of a decoy.

    With ``may_send`` the method is about to send (it needs the organisation's
    name for the message); without, it only checks an answer.
    """
    return GateContext(
        user=None if flow.decoy else flow.user,
        flow_ref=f"flow{flow.pk}",
        correlation_id=flow.correlation_id,
        organisation=get_organisation().name if may_send else "",
        meta=meta,
        now=now,
        may_send=may_send or (lambda: True),
        send_budget=send_budget,
    )


class OverPhoneBudget(MethodError):
    """Texts and calls are over a money budget (per client address, or the whole service)."""

    def __init__(self, which: str) -> None:
        super().__init__("phone_budget")
        self.which = which


def _within_phone_budget(
    flow: ResetFlow, kind: MethodKind, meta: RequestMeta, now: datetime
) -> None:
    """Texts and calls cost money: per-address and global hourly budgets (attack A4).

    Over budget nothing is sent and the person is told so, honestly: the budget is
    about the service, not about them, and the words are the same for every ID (a
    decoy never gets this far: no typed number matches it). The operator is told by a
    log line, a metric and a ``reset.budget_exceeded`` audit row.
    """
    if flow.decoy:
        return
    which = challenges.phone_budget_refusal(kind, meta, now)
    if which is not None:
        raise OverPhoneBudget(which)


def _reserve_contact_check(
    flow: ResetFlow, kind: MethodKind, meta: RequestMeta, now: datetime
) -> tuple[Reservation, ...]:
    """A typed address or number is about to be compared: reserve a mismatch, per flow and
    per client address (given back when it matches).

    Never against the person (A21): three mismatches end this flow (a new one needs the
    captcha again), twenty an hour from one address say "not now". Reserved before the
    compare, so parallel guesses can't pass the limits. The way's pause (wrong answers
    with ``kind``) is looked at in the same statements; paused, nothing is kept (a
    parallel request may count the two checks in the moment before they are given back).
    """
    taken, (paused,) = service.reserve_many_peeking(
        [
            (rules.SSPR_CONTACT_CHECKS_PER_ADDRESS, meta.ip_address or "-"),
            (rules.SSPR_CONTACT_CHECKS_PER_FLOW, str(flow.pk)),
        ],
        [(rules.SSPR_VERIFY_FAILURE, failure_subject(flow, meta, now, kind.value))],
        now=now,
    )
    if paused is not None:
        service.give_back_many(taken)  # nothing will be compared
        _stop_if_paused(paused, now)
    if len(taken) == 1 and not taken[0].allowed:
        raise FlowError("try_later")
    per_address, per_flow = taken
    if not per_flow.allowed:
        service.give_back(per_address)
        block(flow, meta, now, why="contact_checks", reason="too_many_contact_checks")
    return per_address, per_flow


def _stop_if_paused(until: datetime | None, now: datetime) -> None:
    """Wrong answers this way: a short pause is waited out; after a day's worth the others
    stay open (attack A21)."""
    if until is None:
        return
    if (wait := rules.VERIFY_PAUSES.wait(until, now)) is not None:
        raise FlowError("paused", retry_after=wait)
    raise FlowError("method_paused")


def _may_send(flow: ResetFlow, kind: MethodKind, meta: RequestMeta, now: datetime) -> bool:
    """The address matched and the person's send budget is spent (``send_budget``, counted
    with the destination's): now the money budgets."""
    _within_phone_budget(flow, kind, meta, now)
    return True


def _send_budget(flow: ResetFlow, kind: MethodKind) -> tuple[Rule, str] | None:
    """The person's send budget for ``kind``, spent once the typed address matched.

    Over it the step is refused in words ("send_limit", ``SendLimitError``), so nobody
    waits for a code that won't come; the count lives inside the step's transaction.
    """
    rule = THROTTLE_FOR_KIND.get(kind)
    return (rule, flow.subject) if rule is not None else None


def begin_verification(
    *, handle: str, kind: MethodKind, contact: str = "", meta: RequestMeta
) -> FlowView:
    """Start a gate with ``kind``: check the typed contact, send the code or place the call."""
    now = clock.now()
    flow = load_flow(handle, now, Step.BEGIN_GATE)
    meta = flow_meta(flow, meta)
    policy = get_sspr_policy()
    options = available_options(flow, policy)
    option = next((o for o in options if o.kind == kind), None)
    method = get_method(kind)
    needs_contact = option is not None and option.needs_contact
    if not needs_contact:  # a typed contact's reservation looks at the pause itself
        _stop_if_paused(paused_until(flow, meta, now, kind.value), now)
    if option is None or method is None:
        raise FlowError("method_unavailable")
    checks = _reserve_contact_check(flow, kind, meta, now) if needs_contact else ()
    try:  # after the pause (a paused way says so first), before anything is compared
        ensure_directory_reachable(flow)
    except FlowError:
        service.give_back_many(checks)
        raise
    ctx = gate_context(
        flow,
        meta,
        now,
        may_send=lambda: _may_send(flow, kind, meta, now),
        send_budget=_send_budget(flow, kind),
    )
    try:
        # The message's event and the gate's go in one INSERT (``written_together``).
        with transaction.atomic(), written_together():
            if option.needs_contact and flow.decoy:
                raise MethodError("contact_mismatch")  # a decoy matches nothing typed
            started = method.begin(ctx, contact)
            if getattr(flow, "has_unconsumed", True):  # read with the flow (find_flow)
                # A challenge made since then came with a new version: advance() refuses.
                _end_open_challenges(flow, now)
            challenge = _save_challenge(flow, kind, started, now)
            new = advance(flow, Step.BEGIN_GATE)
            audit(flow, Activity.RESET_METHOD_STARTED, meta, details={"method": kind.value})
        service.give_back_many(checks)  # it matched: no guess was spent
    except MethodError as exc:
        with transaction.atomic():
            if isinstance(exc, OverPhoneBudget):
                audit(
                    flow,
                    Activity.RESET_BUDGET_EXCEEDED,
                    meta,
                    outcome=Outcome.FAILURE,
                    reason=exc.which,
                    details={"method": kind.value},
                )
            audit(
                flow,
                Activity.RESET_METHOD_REFUSED,
                meta,
                outcome=Outcome.FAILURE,
                reason=exc.code,
                details={"method": kind.value},
            )
        raise FlowError(exc.code) from None
    return view(flow, new, now, policy=policy, challenge=challenge, options=options)


def _save_challenge(
    flow: ResetFlow, kind: MethodKind, started: Started, now: datetime
) -> Challenge:
    challenge = Challenge(
        flow=flow,
        kind=kind.value,
        channel=started.channel,
        secret_digest=started.secret_digest,
        question_keys=list(started.question_keys),
        shown_as=started.shown_as[:64],
        issued_at=now,
        expires_at=started.expires_at or (now + timedelta(minutes=5)),
        voice_token_digest=challenges.voice_token_digest(started.voice_token)
        if started.voice_token
        else "",
    )
    insert([challenge])  # a save, its INSERT made once (core/prepared.py)
    return challenge


def _end_open_challenges(flow: ResetFlow, now: datetime) -> None:
    """The flow's open challenge (at most one) is used up: a new code replaces it."""
    update_where(Challenge, {"flow": flow.pk, "consumed_at__isnull": True}, {"consumed_at": now})


def change_method(*, handle: str, meta: RequestMeta) -> FlowView:
    """ "Try another way": drop the open challenge and show the options again."""
    now = clock.now()
    flow = load_flow(handle, now, Step.TRY_ANOTHER_WAY)
    with transaction.atomic():
        _end_open_challenges(flow, now)
        new = advance(flow, Step.TRY_ANOTHER_WAY)
    return view(flow, new, now, challenge=None)


def confirm_voice_call(*, token: str, digits: str, meta: RequestMeta) -> bool:
    """The provider (or the demo outbox) reports a gate's call answered; "#" confirms it."""
    return (
        challenges.confirm_call(Challenge, token=token, digits=digits, now=clock.now()) is not None
    )
