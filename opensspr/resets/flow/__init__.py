"""The reset and unlock flow: a server-side state machine behind an opaque handle.

identify → (why are you having trouble?) → gate 1 → (gate 2) → new password → done

The package, module by module:

* ``transitions``: the one table of legal steps and the ``advance()`` that
  enforces it (with ``handles``: the opaque handle and finding its flow);
* ``start``, ``gates``, ``answers``, ``completion``: the steps, as services
  that write their change and its audit event in one transaction;
* ``recheck``: the account looked at again before a gate is trusted;
* ``events``: the audit trail under the flow's correlation id, and the block;
* ``decoys``: the flow of a user ID that can't reset (attack A1);
* ``view``: the page view-model the portal and the API render;
* ``notify``: telling the person (and administrators) it happened.

Codes and calls go through ``methods.challenges``, the one code primitive.
"""

from opensspr.resets.flow.answers import submit_verification
from opensspr.resets.flow.completion import set_new_password
from opensspr.resets.flow.errors import FlowBlockedError, FlowError, PasswordRejectedError
from opensspr.resets.flow.events import MAX_PASSWORD_TRIES, audit
from opensspr.resets.flow.gates import begin_verification, change_method, confirm_voice_call
from opensspr.resets.flow.start import FLOW_TTL, choose_operation, get_flow, start_flow
from opensspr.resets.flow.transitions import TRANSITIONS, Step, advance, load_flow
from opensspr.resets.flow.view import ChallengeView, FlowView, MethodOption, view

__all__ = [
    "FLOW_TTL",
    "MAX_PASSWORD_TRIES",
    "TRANSITIONS",
    "ChallengeView",
    "FlowBlockedError",
    "FlowError",
    "FlowView",
    "MethodOption",
    "PasswordRejectedError",
    "Step",
    "advance",
    "audit",
    "begin_verification",
    "change_method",
    "choose_operation",
    "confirm_voice_call",
    "get_flow",
    "load_flow",
    "set_new_password",
    "start_flow",
    "submit_verification",
    "view",
]
