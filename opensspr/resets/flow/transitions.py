"""The one table of what may happen next, and the one ``advance()`` that enforces it.

identify → (why are you having trouble?) → gate 1 → (gate 2) → new password → done
                                                   ↘ writing (on-premises) ↗

A step service names its step when it loads the flow (``load_flow``): a state
the table has no row for refuses the step (``wrong_step``) before anything is
done. It then moves the flow with ``advance``, which takes the next state from
the table and writes it with one conditional UPDATE on the row's version and
state, replacing the handle: an old handle, a replayed request or the slower of
two parallel requests finds nothing and changes nothing (attacks A8, A9, A16).

Adding a step (a passkey gate, a directory writeback through an agent) is a row
here and one module that calls ``load_flow`` and ``advance`` with it.
"""

from datetime import datetime
from enum import StrEnum

from opensspr.core.prepared import update_where
from opensspr.resets.flow.errors import FlowError
from opensspr.resets.flow.handles import find_flow, find_flow_with_challenge, new_handle
from opensspr.resets.models import Challenge, FlowState, ResetFlow


class Step(StrEnum):
    CHOOSE_OPERATION = "choose_operation"  # reset, or unlock only
    BEGIN_GATE = "begin_gate"  # send a code, place a call, ask the questions
    TRY_ANOTHER_WAY = "try_another_way"  # drop the open challenge, show the options
    PASS_GATE = "pass_gate"  # noqa: S105 (a step name) a gate passed, more to go
    PASS_LAST_GATE = "pass_last_gate"  # noqa: S105 (a step name) every gate passed
    UNLOCK = "unlock"  # every gate passed, unlock only: done
    SET_PASSWORD = "set_password"  # noqa: S105 (a step name, not a password)
    REJECT_PASSWORD = "reject_password"  # noqa: S105 (a step name, not a password)
    BLOCK = "block"  # throttled, no longer eligible, too many passwords: terminal
    # A synced person's password goes to their directory (flow.writeback): the flow waits
    # in WRITING while the directory answers, so a second submission can't write again.
    BEGIN_WRITEBACK = "begin_writeback"
    FINISH_WRITEBACK = "finish_writeback"  # the directory has it: done
    UNDO_WRITEBACK = "undo_writeback"  # it never reached the directory: choose again


S = FlowState
#: (state, step) → next state. Nothing else may move a flow.
TRANSITIONS: dict[tuple[FlowState, Step], FlowState] = {
    (S.CHOOSE_OPERATION, Step.CHOOSE_OPERATION): S.VERIFY,
    (S.VERIFY, Step.BEGIN_GATE): S.VERIFY,
    (S.VERIFY, Step.TRY_ANOTHER_WAY): S.VERIFY,
    (S.VERIFY, Step.PASS_GATE): S.VERIFY,
    (S.VERIFY, Step.PASS_LAST_GATE): S.NEW_PASSWORD,
    (S.VERIFY, Step.UNLOCK): S.DONE,
    (S.NEW_PASSWORD, Step.SET_PASSWORD): S.DONE,
    (S.NEW_PASSWORD, Step.REJECT_PASSWORD): S.NEW_PASSWORD,
    (S.NEW_PASSWORD, Step.BEGIN_WRITEBACK): S.WRITING,
    (S.WRITING, Step.FINISH_WRITEBACK): S.DONE,
    (S.WRITING, Step.UNDO_WRITEBACK): S.NEW_PASSWORD,
    (S.WRITING, Step.REJECT_PASSWORD): S.NEW_PASSWORD,  # the directory refused it
    (S.WRITING, Step.BLOCK): S.BLOCKED,
    (S.CHOOSE_OPERATION, Step.BLOCK): S.BLOCKED,
    (S.VERIFY, Step.BLOCK): S.BLOCKED,
    (S.NEW_PASSWORD, Step.BLOCK): S.BLOCKED,
}
#: Steps only a real flow may take: a decoy never passes a gate.
REAL_FLOWS_ONLY = frozenset(
    {
        Step.UNLOCK,
        Step.SET_PASSWORD,
        Step.REJECT_PASSWORD,
        Step.BEGIN_WRITEBACK,
        Step.FINISH_WRITEBACK,
        Step.UNDO_WRITEBACK,
    }
)
#: Steps that keep the handle: the person's page still holds it while the directory
#: answers, and their retry must find the flow to learn how the write ended. WRITING
#: itself accepts no step from a handle, so keeping it opens no replay.
KEEPS_HANDLE = frozenset({Step.BEGIN_WRITEBACK, Step.FINISH_WRITEBACK, Step.UNDO_WRITEBACK})


def may_take(flow: ResetFlow, step: Step) -> bool:
    if step in REAL_FLOWS_ONLY and (flow.decoy or flow.user is None):
        return False
    return (FlowState(flow.state), step) in TRANSITIONS


def load_flow(handle: str, now: datetime, step: Step | None = None) -> ResetFlow:
    """The flow behind ``handle``, refused (``wrong_step``) unless ``step`` may be taken now.

    Without ``step`` it only reads (the page, the helpdesk link).
    """
    flow = find_flow(handle, now)
    if step is not None and not may_take(flow, step):
        raise FlowError("wrong_step")
    return flow


def load_flow_to_answer(
    handle: str, now: datetime, step: Step
) -> tuple[ResetFlow, Challenge | None]:
    """``load_flow`` and the flow's open challenge, in one query (``find_flow_with_challenge``)."""
    flow, challenge = find_flow_with_challenge(handle, now)
    if not may_take(flow, step):
        raise FlowError("wrong_step")
    return flow, challenge


def advance(flow: ResetFlow, step: Step, **changes: object) -> str:
    """Take ``step`` if nobody moved the flow meanwhile; return the new handle.

    The next state comes from ``TRANSITIONS``; ``flow`` is updated in place (no
    reload). Raises ``flow_conflict`` when a parallel request moved it first.
    A step in ``KEEPS_HANDLE`` returns "" (the caller's handle stays valid).
    """
    if not may_take(flow, step):
        raise FlowError("wrong_step")
    state = TRANSITIONS[(FlowState(flow.state), step)]
    if step in KEEPS_HANDLE:
        handle, digest = "", flow.handle_digest
    else:
        handle, digest = new_handle()
    updated = update_where(  # SQL made once per set of columns (``core.prepared``)
        ResetFlow,
        {"pk": flow.pk, "version": flow.version, "state": flow.state},
        {"handle_digest": digest, "state": state, **changes},
        counted="version",
    )
    if updated != 1:
        raise FlowError("flow_conflict")
    for name, value in changes.items():
        setattr(flow, name, value)
    flow.state, flow.handle_digest, flow.version = state, digest, flow.version + 1
    return handle
