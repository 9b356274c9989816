"""Opening a flow for whatever was typed, reading it, and choosing reset or unlock.

Every typed user ID gets a flow; one that can't succeed is a decoy
(``flow.decoys``) and walks the same path. The whole flow lives 15 minutes
(reference §1.5).
"""

from datetime import datetime, timedelta

from django.db import transaction

from opensspr.accounts.identifiers import identifier_key
from opensspr.accounts.models import User
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.core import clock
from opensspr.core.prepared import Param, PreparedSelect, insert
from opensspr.core.request_meta import RequestMeta
from opensspr.methods.registry import implemented_kinds
from opensspr.policy.eligibility import Reason, Scope
from opensspr.policy.reset_selectors import (
    FACT_COLUMNS,
    allowed_kinds,
    eligibility_for,
    get_sspr_policy,
    keep_stored_facts,
    person_with_facts,
)
from opensspr.resets.flow.decoys import decoy_kinds
from opensspr.resets.flow.errors import FlowError
from opensspr.resets.flow.events import audit
from opensspr.resets.flow.handles import new_handle
from opensspr.resets.flow.recheck import momentary_only
from opensspr.resets.flow.transitions import Step, advance, load_flow
from opensspr.resets.flow.view import FlowView, view
from opensspr.resets.models import FlowState, Operation, ResetFlow
from opensspr.signin import sources
from opensspr.throttles.subjects import typed_user_id

FLOW_TTL = timedelta(minutes=15)


_USER_KEY = Param(User._meta.get_field("user_id_key"))
_PERSON = PreparedSelect(person_with_facts, _USER_KEY)
_PERSON_AND_NETWORK = PreparedSelect(
    lambda key, *familiar: person_with_facts(key, network_familiar=sources.seen_from(*familiar)),
    _USER_KEY,
    *(Param(field) for field in sources.FAMILIAR_FIELDS),
)


def get_user_with_facts(key: str, familiar: tuple[str, str, datetime] | None) -> User | None:
    """The person whose identifier key is ``key``, or None, with their stored facts and,
    given ``sources.familiar_values``, whether they signed in from this network lately
    (``network_familiar``): one select, compiled once (``core/prepared.py``)."""
    if not key:
        return None
    user = _PERSON_AND_NETWORK.first(key, *familiar) if familiar else _PERSON.first(key)
    if user is not None:
        keep_stored_facts(user, {name: getattr(user, name) for name in FACT_COLUMNS})
    return user


def start_flow(*, identifier: str, meta: RequestMeta) -> FlowView:
    """Open a flow for whatever was typed. The caller has checked the captcha.

    The flow's correlation id is this request's: every later event of the flow
    carries it.
    """
    now = clock.now()
    key = identifier_key(identifier)
    subject = typed_user_id(key)
    network = sources.network_of(meta.ip_address)
    user = get_user_with_facts(key, sources.familiar_values(key, network, now) if network else None)
    policy = get_sspr_policy()
    decision = eligibility_for(user, policy)
    # A directory that is down for now doesn't make the person ineligible: their flow is
    # real, and each step says "can't reach your organisation" until it is back (recheck).
    decoy = not decision.eligible and not momentary_only(decision)
    handle, digest = new_handle()
    state = FlowState.CHOOSE_OPERATION if policy.unlock_without_reset else FlowState.VERIFY
    reason = "" if not decoy else (decision.reason or Reason.UNKNOWN_USER).value
    if policy.scope == Scope.NONE and not policy.admins_may_reset:
        state, reason = FlowState.BLOCKED, Reason.ORG_DISABLED.value  # the same for every ID
    allowed = allowed_kinds(policy) & implemented_kinds()
    with transaction.atomic():
        flow = ResetFlow(
            handle_digest=digest,
            subject=subject,
            user=user,
            decoy=decoy,
            reason=reason,
            state=state,
            operation="" if state == FlowState.CHOOSE_OPERATION else Operation.RESET,
            gates_required=decision.gates_required,
            decoy_kinds=decoy_kinds(key, allowed, decision.gates_required),
            correlation_id=meta.correlation_id,
            network=network,
            network_familiar=bool(getattr(user, "network_familiar", False)),
            created_at=now,
            expires_at=now + FLOW_TTL,
        )
        insert([flow])  # a save, its INSERT made once (core/prepared.py)
        audit(
            flow,
            Activity.RESET_STARTED,
            meta,
            reason=reason,
            outcome=Outcome.FAILURE if decoy else Outcome.SUCCESS,
        )
    return view(flow, handle, now, policy=policy)


def get_flow(*, handle: str) -> FlowView:
    """Read-only: the flow's current view, under the same handle."""
    now = clock.now()
    return view(load_flow(handle, now), handle, now)


def choose_operation(*, handle: str, operation: Operation, meta: RequestMeta) -> FlowView:
    """ "Why are you having trouble signing in?": reset the password, or unlock only."""
    now = clock.now()
    flow = load_flow(handle, now, Step.CHOOSE_OPERATION)
    policy = get_sspr_policy()
    if operation == Operation.UNLOCK and not policy.unlock_without_reset:
        raise FlowError("operation_unavailable")
    with transaction.atomic():
        new = advance(flow, Step.CHOOSE_OPERATION, operation=operation)
        audit(flow, Activity.RESET_OPERATION_CHOSEN, meta, details={"operation": operation.value})
    return view(flow, new, now, policy=policy, challenge=None)
