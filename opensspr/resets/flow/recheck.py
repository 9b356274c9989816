"""Looking at the account again before trusting a flow's earlier answers.

Between two steps an administrator may disable the account, take it out of
scope, or replace the number a code went to (a SIM swap reported to the
helpdesk). Every step that trusts a gate calls ``recheck`` first.
"""

from datetime import datetime

from django.db import transaction

from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.core.request_meta import RequestMeta
from opensspr.methods import challenges
from opensspr.policy.models import SsprPolicy
from opensspr.policy.reset_selectors import eligibility_for
from opensspr.resets.flow.errors import FlowError
from opensspr.resets.flow.events import audit, block
from opensspr.resets.flow.view import channel_key
from opensspr.resets.models import Challenge, ResetFlow


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
    failed = {check.name for check in decision.checks if not check.passed}
    if failed == {"writeback_reachable"}:
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
