"""The new password of a synced person, written to their on-premises directory.

The directory decides, synchronously: the person sees "done" only once it
accepted the password, its own reason when it refused (history, length,
complexity, minimum age), and "can't reach your organisation" when it can't
be asked. The write goes through ``directory.writeback``: the flow moves to
WRITING together with the durable intent, the write happens outside any
transaction, and ``finish`` (the finisher of the "reset" purpose) moves the
flow on with its audit and notification, exactly once, whether the request or
the reconciler learns the outcome.
"""

from datetime import datetime

from django.db import transaction

from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.directory import writeback
from opensspr.directory.base import OnPremisesConnector
from opensspr.directory.errors import (
    REJECTION_CODES,
    DirectoryError,
    DirectoryRejectedError,
    DirectoryUnavailableError,
)
from opensspr.directory.models import IntentState, WritebackIntent
from opensspr.policy.models import SsprPolicy
from opensspr.policy.reset_selectors import get_sspr_policy
from opensspr.resets.flow.errors import FlowError, PasswordRejectedError
from opensspr.resets.flow.events import (
    audit,
    close_the_forgotten_password,
    count_rejected_password,
    flow_meta,
)
from opensspr.resets.flow.notify import notify_done
from opensspr.resets.flow.transitions import Step, advance
from opensspr.resets.flow.view import FlowView, view
from opensspr.resets.models import FlowState, ResetFlow

PURPOSE = "reset"


def write_back(
    flow: ResetFlow,
    handle: str,
    connector: OnPremisesConnector,
    *,
    new_password: str,
    meta: RequestMeta,
    now: datetime,
    policy: SsprPolicy,
) -> FlowView:
    """Send the new password; the done page, or the reason it didn't happen."""
    user = flow.user
    assert user is not None
    context = {"flow": flow.pk, "meta": writeback.meta_context(meta)}
    try:
        intent = writeback.begin(
            connector,
            user,
            PURPOSE,
            context,
            also=lambda _intent: advance(flow, Step.BEGIN_WRITEBACK),
        )
    except DirectoryError as exc:  # not even the marker could be read: nothing sent
        with transaction.atomic():
            audit(flow, Activity.RESET_FAILED, meta, outcome=Outcome.FAILURE, reason=str(exc.code))
        raise _flow_error(exc) from None
    outcome = writeback.run(
        connector,
        intent,
        lambda: connector.set_password(user, new_password, unlock=True),
        local=flow,
    )
    handle = outcome.result or handle
    if outcome.state == IntentState.APPLIED:
        return view(flow, handle, now, policy=policy)
    error = outcome.error
    assert error is not None
    if outcome.state == IntentState.PENDING:
        raise FlowError("directory_unavailable")
    if isinstance(error, DirectoryRejectedError):
        raise PasswordRejectedError(view(flow, handle, now), (), f"directory:{error.code}")
    raise _flow_error(error)


def settle_earlier_write(flow: ResetFlow, now: datetime) -> ResetFlow:
    """A flow still WRITING (a lost answer): find out how that write ended first.

    Returns the flow as it is afterwards; raises ``directory_unavailable`` while
    the directory can't tell.
    """
    intent = (
        WritebackIntent.objects.filter(
            purpose=PURPOSE, context__flow=flow.pk, state=IntentState.PENDING
        )
        .select_related("user")
        .first()
    )
    if intent is not None:
        writeback.reconcile(intent, now=now, local=flow)
    flow.refresh_from_db()
    if flow.state == FlowState.WRITING:
        raise FlowError("directory_unavailable")
    return flow


def finish(settled: writeback.Settled) -> str:
    """Record how the write ended (the "reset" finisher); returns the flow's new handle or ""."""
    intent = settled.intent
    flow = settled.local
    if flow is None:
        flow = ResetFlow.objects.select_related("user").get(pk=intent.context["flow"])
    meta = flow_meta(flow, writeback.meta_of(intent))
    now = clock.now()
    if settled.applied:
        return _done(flow, meta, now, by_reconciler=settled.by_reconciler)
    if settled.reason in REJECTION_CODES:
        return count_rejected_password(flow, meta, f"directory:{settled.reason}")
    handle = advance(flow, Step.UNDO_WRITEBACK)
    audit(flow, Activity.RESET_FAILED, meta, outcome=Outcome.FAILURE, reason=settled.reason)
    return handle


def _done(flow: ResetFlow, meta: RequestMeta, now: datetime, *, by_reconciler: bool) -> str:
    user = flow.user
    assert user is not None
    close_the_forgotten_password(flow, user)
    handle = advance(flow, Step.FINISH_WRITEBACK, completed_at=now)
    details = {"written_to": "directory"} | ({"reconciled": True} if by_reconciler else {})
    audit(flow, Activity.RESET_COMPLETED, meta, details=details)
    notify_done(user, meta, get_sspr_policy(), unlocked=False)
    return handle


def _flow_error(error: DirectoryError) -> FlowError:
    """What the person is told: unreachable, or their organisation's set-up (by code)."""
    if isinstance(error, DirectoryUnavailableError):
        return FlowError("directory_unavailable")
    return FlowError(f"directory:{error.code}")
