"""One person's recent self-service activity, as the helpdesk reads it on their page.

The events where the person is the target (what they did, and what was done
to them) over the last ``DAYS`` days, newest first, each with the catalogue's
label and category rather than the stored name. The index on
``(target, -occurred_at)`` answers this without a scan.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from opensspr.accounts.models import User
from opensspr.audit.activities import CATEGORY_OF, Activity, label_for
from opensspr.audit.models import AuditEvent, Outcome
from opensspr.core import clock

DAYS = 30
LIMIT = 200


@dataclass(frozen=True)
class ActivityLine:
    occurred_at: datetime
    label: str
    category: str
    succeeded: bool
    outcome: str
    reason: str
    by: str  # "person" (they did it), "admin" (``actor`` did it to them) or "system"
    actor: str  # the administrator's user ID when ``by`` is "admin"
    ip_address: str


def _category(value: str) -> str:
    try:
        return str(CATEGORY_OF[Activity(value)].label)
    except ValueError:
        return ""


def _by(event: AuditEvent, user: User) -> str:
    if event.actor_id == user.pk:
        return "person"
    return "admin" if event.actor_id is not None or event.actor_label else "system"


def list_recent_activity(user: User, *, days: int = DAYS, limit: int = LIMIT) -> list[ActivityLine]:
    since = clock.now() - timedelta(days=days)
    events = (
        AuditEvent.objects.filter(target=user, occurred_at__gte=since)
        .select_related("actor")
        .order_by("-occurred_at", "-id")[:limit]
    )
    return [
        ActivityLine(
            occurred_at=event.occurred_at,
            label=label_for(event.activity),
            category=_category(event.activity),
            succeeded=event.outcome == Outcome.SUCCESS,
            outcome=event.get_outcome_display(),
            reason=event.reason,
            by=_by(event, user),
            actor=event.actor_label,
            ip_address=event.ip_address or "",
        )
        for event in events
    ]
