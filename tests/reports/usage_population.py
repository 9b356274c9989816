"""A known week of self-service, written as real audit events at chosen times.

``seed_usage`` writes, with the product clock moved to each moment:

22 November 2026 (UTC)
  flow A: reset with email, 60 s; flow B: reset with text + email, 120 s;
  flow C: unlock with an app code, 40 s; two wrong email codes and a block (bob);
  a password change, and a change refused as ``too_short``;
  flow M starts at 23:59:30 and finishes after midnight.
23 November 2026 (until 09:00)
  flow M finishes at 00:00:30 (email, 60 s); flow D: reset with email, 180 s.

So: resets 2 + 2, unlocks 1, changes 1, failed steps 4, one person blocked,
reset durations 60, 120, 60, 180 (median 90 s), five flows started.
"""

from datetime import UTC, datetime
from typing import Any

from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta

DAY1 = datetime(2026, 11, 22, tzinfo=UTC).date()
DAY2 = datetime(2026, 11, 23, tzinfo=UTC).date()


def at(hour: int, minute: int = 0, second: int = 0, *, day: int = 22) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def event(
    moment: datetime,
    activity: Activity,
    flow: str,
    target: Any = None,
    *,
    outcome: Outcome = Outcome.SUCCESS,
    reason: str = "",
    method: str = "",
) -> None:
    clock.freeze(moment)
    record_event(
        activity=activity,
        outcome=outcome,
        reason=reason,
        meta=RequestMeta("192.0.2.1", "pytest", flow),
        target=target,
        details={"method": method} if method else None,
    )


def flow(
    flow_id: str,
    start: datetime,
    seconds: int,
    methods: tuple[str, ...],
    target: Any,
    *,
    finish: Activity = Activity.RESET_COMPLETED,
) -> None:
    event(start, Activity.RESET_STARTED, flow_id, target)
    for n, method in enumerate(methods, start=1):
        moment = start.fromtimestamp(start.timestamp() + n, UTC)
        event(moment, Activity.RESET_GATE_PASSED, flow_id, target, method=method)
    end = start.fromtimestamp(start.timestamp() + seconds, UTC)
    event(end, finish, flow_id, target)


def seed_usage(alice: Any, bob: Any) -> None:
    flow("flow-a", at(10), 60, ("email",), alice)
    flow("flow-b", at(11), 120, ("mobile_sms", "email"), alice)
    flow("flow-c", at(12), 40, ("app_code",), bob, finish=Activity.UNLOCK_COMPLETED)
    for second in (1, 2):
        event(
            at(13, 0, second),
            Activity.RESET_GATE_FAILED,
            "flow-e",
            bob,
            outcome=Outcome.FAILURE,
            reason="wrong_answer",
            method="email",
        )
    event(
        at(13, 1), Activity.RESET_BLOCKED, "flow-e", bob, outcome=Outcome.FAILURE, reason="verify"
    )
    event(at(14), Activity.PASSWORD_CHANGED, "change-1", alice)
    event(
        at(14, 5),
        Activity.PASSWORD_CHANGE_FAILED,
        "change-2",
        alice,
        outcome=Outcome.FAILURE,
        reason="too_short",
    )
    flow("flow-m", at(23, 59, 30), 60, ("email",), alice)
    flow("flow-d", at(8, day=23), 180, ("email",), bob)
    clock.freeze(at(9, day=23))
