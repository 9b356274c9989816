"""Looking at the account again before trusting a flow's earlier answers.

Between two steps an administrator may disable the account, take it out of
scope, or replace the number a code went to (a SIM swap reported to the
helpdesk). Every step that trusts a gate calls ``recheck`` first.
"""

from datetime import datetime

from django.db import transaction

from opensspr.accounts.models import UserSource
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.core.request_meta import RequestMeta
from opensspr.methods import challenges
from opensspr.policy.eligibility import Decision, Writeback
from opensspr.policy.models import SsprPolicy
from opensspr.policy.reset_selectors import eligibility_for, writeback_state
from opensspr.resets.flow.errors import FlowError
from opensspr.resets.flow.events import audit, block
from opensspr.resets.flow.view import channel_key
from opensspr.resets.models import Challenge, ResetFlow


def momentary_only(decision: Decision) -> bool:
    """Only the on-premises directory's reachability failed: that passes, the person stays."""
    failed = {check.name for check in decision.checks if not check.passed}
    return failed == {"writeback_reachable"}


def ensure_directory_reachable(flow: ResetFlow) -> None:
    """Before a code goes out for a synced person: can their directory take the password?

    Entra tells the person at once (sspr-behaviour §7.2 step 1) rather than after they
    typed a code; one health read, shared by every request for a few seconds.
    """
    user = flow.user
    if flow.decoy or user is None or user.source != UserSource.SYNCED:
        return
    if writeback_state(user) == Writeback.UNREACHABLE:
        raise FlowError("directory_unavailable")


def recheck(
    flow: ResetFlow,
    meta: RequestMeta,
    now: datetime,
    policy: SsprPolicy,
    *,
    challenge: Challenge | None = None,
) -> None:
    """The account may have changed since the flow began: look again before trusting it.

    Disabled, taken out of scope, or the number a code went to replaced (a SIM
    swap reported to the helpdesk): the flow ends or the gate is refused, before
    any answer is looked at. Each outcome is written with its audit event.
    """
    if flow.decoy or flow.user is None:
        return
    # ``load_flow`` read the user with the flow, in this request: it is current.
    decision = eligibility_for(flow.user, policy)
    if momentary_only(decision):
        # The directory is down for now: nothing about the person changed, so the
        # flow stays where it is and they can try again (sspr-behaviour §7.2 step 1).
        raise FlowError("directory_unavailable")
    if not decision.eligible:
        block(flow, meta, now, why="no_longer_eligible", reason="no_longer_eligible")
    registered = {channel_key(m.channel) for m in decision.methods}
    if challenge is not None and challenge.channel not in registered:
        with transaction.atomic():
            challenges.consume_once(challenge, now)
            audit(
                flow,
                Activity.RESET_GATE_FAILED,
                meta,
                outcome=Outcome.FAILURE,
                reason="channel_changed",
                details={"method": challenge.kind},
            )
        raise FlowError("method_unavailable")
