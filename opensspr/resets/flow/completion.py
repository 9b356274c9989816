"""The end of a flow: every gate passed, then the new password or the unlock.

The password is written through the directory connector that owns it, with the
account unlocked; a policy rejection (ours or the directory's) keeps the flow
verified for a limited number of tries. On success the sign-in lockout and the
reset throttles are cleared and the notifications queued, in one transaction with
the audit row. The new password's hash (where we keep it) is computed before
that transaction opens, so no write lock is held through the hash.
"""

from datetime import datetime
from typing import NoReturn

from django.db import transaction

from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import written_together
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.directory import connector_for
from opensspr.directory.base import (
    DirectoryError,
    DirectoryRejectedError,
    OnPremisesConnector,
    PreparedPassword,
)
from opensspr.policy.models import SsprPolicy
from opensspr.policy.passwords import RuleFailure, check_password
from opensspr.policy.reset_selectors import get_sspr_policy
from opensspr.policy.selectors import get_password_profile, password_context_for
from opensspr.registration.proven import mark_proven_by_reset
from opensspr.resets.flow.errors import FlowError, PasswordRejectedError
from opensspr.resets.flow.events import (
    audit,
    clear_counts,
    close_the_forgotten_password,
    count_rejected_password,
    flow_meta,
)
from opensspr.resets.flow.notify import notify_done
from opensspr.resets.flow.recheck import recheck
from opensspr.resets.flow.transitions import Step, advance, load_flow, may_take
from opensspr.resets.flow.view import FlowView, view
from opensspr.resets.flow.writeback import settle_earlier_write, write_back
from opensspr.resets.models import FlowState, Operation, ResetFlow


def complete_gates(
    flow: ResetFlow,
    gates: list[dict[str, str]],
    meta: RequestMeta,
    now: datetime,
    policy: SsprPolicy,
) -> str:
    """Every gate passed: on to the new password, or unlock now. Call inside the
    transaction that passes the last gate; returns the new handle.

    The directory's unlock is done before (``unlock_in_directory``).
    """
    if flow.operation != Operation.UNLOCK:
        return advance(flow, Step.PASS_LAST_GATE, gates_passed=gates, verified_at=now)
    user = flow.user
    if user is None or flow.decoy:  # a decoy never passes a gate
        raise FlowError("wrong_step")
    mark_proven_by_reset(user=user, gates=gates)
    clear_counts(flow, user)
    handle = advance(flow, Step.UNLOCK, gates_passed=gates, verified_at=now, completed_at=now)
    audit(flow, Activity.UNLOCK_COMPLETED, meta)
    notify_done(user, flow_meta(flow, meta), policy, unlocked=True)
    return handle


def unlock_in_directory(flow: ResetFlow) -> None:
    """An unlock flow's last gate passed: unlock where the account lives.

    Called before the transaction that records the gate, never inside it: for a
    synced person the directory may be reached through an agent, whose job must
    be committed for the agent to see it, and no database lock should wait on a
    directory. Unlocking twice (a parallel submission) is harmless. A
    ``DirectoryError`` leaves the flow where it was; the caller audits it.
    """
    if flow.operation != Operation.UNLOCK or flow.user is None or flow.decoy:
        return
    connector_for(flow.user).unlock(flow.user)


def set_new_password(*, handle: str, new_password: str, meta: RequestMeta) -> FlowView:
    """Write the new password through the user's directory; the flow ends done."""
    now = clock.now()
    flow = load_flow(handle, now)
    if flow.state == FlowState.WRITING:  # an earlier write lost its answer
        flow = settle_earlier_write(flow, now)
        if flow.state == FlowState.DONE:
            return view(flow, handle, now)
    if not may_take(flow, Step.SET_PASSWORD):
        raise FlowError("wrong_step")
    meta = flow_meta(flow, meta)
    policy = get_sspr_policy()
    recheck(flow, meta, now, policy)
    user = flow.user
    assert user is not None
    verdict = check_password(
        new_password, profile=get_password_profile(), context=password_context_for(user)
    )
    if not verdict.accepted:
        _reject(flow, meta, now, verdict.failures, verdict.failures[0].code)
    connector = connector_for(user)
    if isinstance(connector, OnPremisesConnector):
        return write_back(
            flow, handle, connector, new_password=new_password, meta=meta, now=now, policy=policy
        )
    # The built-in store hashes now, outside the transaction (no write lock held
    # through argon2id); other connectors take the plain text in the write.
    prepare = getattr(connector, "prepare_password", None)
    password: str | PreparedPassword = prepare(user, new_password) if prepare else new_password
    try:
        # The reset's event and its notification's go in one INSERT (``written_together``).
        with transaction.atomic(), written_together():
            # The protocol says str; a connector offering prepare_password takes what
            # it prepared (hence the arg-type ignore).
            connector.set_password(user, password, unlock=True)  # type: ignore[arg-type]
            close_the_forgotten_password(flow, user)
            new = advance(flow, Step.SET_PASSWORD, completed_at=now)
            audit(flow, Activity.RESET_COMPLETED, meta)
            notify_done(user, meta, policy, unlocked=False)
    except DirectoryRejectedError as exc:
        _reject(flow, meta, now, (), f"directory:{exc.code}")
    except DirectoryError:  # the built-in store: our own database failed
        with transaction.atomic():
            audit(
                flow,
                Activity.RESET_FAILED,
                meta,
                outcome=Outcome.FAILURE,
                reason="directory_unavailable",
            )
        raise FlowError("directory_unavailable") from None
    return view(flow, new, now, policy=policy)


def _reject(
    flow: ResetFlow, meta: RequestMeta, now: datetime, failures: tuple[RuleFailure, ...], code: str
) -> NoReturn:
    """Count a refused password; the last allowed one ends the flow (blocked)."""
    with transaction.atomic():
        handle = count_rejected_password(flow, meta, code)
    raise PasswordRejectedError(view(flow, handle, now), failures, code)
