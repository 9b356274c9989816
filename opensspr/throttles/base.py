"""What a throttle answers, and the contract both stores keep.

Every store operation on one subject is atomic (a row lock, or one Lua script),
so the answers below hold under any number of parallel requests.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from opensspr.throttles.rules import Rule, Scope


class ThrottleUnavailableError(Exception):
    """The store a rule needs can't be reached: callers fail closed (F12), never open."""

    code = "throttle_unavailable"


@dataclass(frozen=True)
class Verdict:
    """May the use go ahead? When not, until when (a penalty, or a full window)."""

    allowed: bool
    blocked_until: datetime | None = None
    newly_blocked: bool = False  # this call set the penalty: audit it once
    used: int | None = None  # uses in the window with this one, where the store counts them


@dataclass(frozen=True)
class Block:
    """A subject's active penalty: until when, and the rule that set it."""

    until: datetime
    by: str


@dataclass(frozen=True)
class Reservation:
    """A failure counted before the answer is compared; ``give_back`` it if the answer was right.

    ``token`` names the counted use ("" when nothing was counted: refused, or a
    remembered repeat); ``penalised`` says this reservation reached the limit and
    set the penalty, which ``give_back`` lifts again.
    """

    rule: Rule
    digest: str
    verdict: Verdict
    token: str = ""
    penalised: bool = False
    fingerprint: str = ""

    @property
    def allowed(self) -> bool:
        return self.verdict.allowed

    @property
    def blocked_until(self) -> datetime | None:
        return self.verdict.blocked_until

    @property
    def blocks_on_failure(self) -> bool:
        """A wrong answer here leaves the subject blocked: refused, or this set the penalty."""
        return not self.allowed or self.penalised


class Store(Protocol):
    """Counts for a rule: the database (row locks) or Redis (Lua scripts)."""

    def take(
        self, rule: Rule, digest: str, now: datetime, *, reserve: bool, fingerprint: str
    ) -> Reservation:
        """Count one use if allowed (see ``service.hit`` and ``service.reserve``)."""
        ...

    def give_back(self, reservation: Reservation) -> None: ...

    def blocked_until(self, rule: Rule, digest: str, now: datetime) -> datetime | None: ...

    def clear(self, scope: Scope, digests: list[str], now: datetime) -> dict[str, Block]:
        """Forget the subjects; the penalties that were active, by digest (read atomically)."""
        ...
