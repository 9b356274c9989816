"""The contract every verification method keeps, and the codes they share.

A method reaches a person through a channel (never a vendor SDK itself),
returns what must be remembered to check the answer, and checks answers in
constant time. For a decoy flow (an unknown or ineligible user ID) it does the
same bookkeeping but sends nothing, and nothing it checks can ever pass.
"""

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from opensspr.accounts.models import User
from opensspr.core.crypto import keyed_digest, secrets_equal
from opensspr.core.request_meta import RequestMeta
from opensspr.policy.kinds import MethodKind
from opensspr.throttles.rules import Rule

CODE_TTL = timedelta(minutes=5)
MAX_TRIES_PER_CODE = 5


@dataclass(frozen=True)
class GateContext:
    user: User | None  # None for a decoy flow
    flow_ref: str  # stable, opaque reference of the flow (idempotency keys, callbacks)
    correlation_id: str
    organisation: str
    meta: RequestMeta
    now: datetime
    # Asked right before a message is queued: False (over a cost budget) sends nothing.
    may_send: Callable[[], bool] = lambda: True
    # The person's send budget (a rule and its key), counted with the destination's in
    # one batch; over it the send is refused (``SendLimitError``).
    send_budget: tuple[Rule, str] | None = None


@dataclass(frozen=True)
class Started:
    channel: str = ""  # keyed digest of the destination reached ("" when none)
    secret_digest: str = ""
    question_keys: tuple[str, ...] = ()
    voice_token: str = field(default="", repr=False)
    shown_as: str = ""  # the destination, masked, for the page ("j•••@mail.example")
    expires_at: datetime | None = None


class MethodError(Exception):
    """A person-facing refusal to begin (the typed number doesn't match, ...)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


#: What a person typed at a gate: a code, or answers keyed by question.
Answer = str | Mapping[str, str]


class VerificationMethod(Protocol):
    @property
    def kind(self) -> MethodKind: ...

    @property
    def needs_contact(self) -> bool:
        """The person types the full email address or number first."""
        ...

    def begin(self, ctx: GateContext, contact: str) -> Started: ...

    def verify(self, ctx: GateContext, started: Started, answer: Answer) -> bool: ...


def new_code(digits: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(digits))


def code_digest(flow_ref: str, code: str) -> str:
    """Bound to one flow: a code from flow A is worthless in flow B (ASVS 6.6.2)."""
    return keyed_digest("reset-code", f"{flow_ref}\x00{code.strip()}")


def code_matches(flow_ref: str, digest: str, answer: Answer) -> bool:
    if not isinstance(answer, str) or not digest:
        return False
    return secrets_equal(code_digest(flow_ref, answer), digest)


def channel_digest(destination: str) -> str:
    return keyed_digest("reset-channel", destination)
