"""The one way to write an audit event.

Callers pass structured facts; this module decides what may be stored. Detail
keys that name a secret are refused with an exception, because a caller that
tries to audit one has a bug that tests must catch, not a value to scrub.
"""

import contextvars
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opensspr.accounts.models import User
from opensspr.audit.activities import Activity, to_activity
from opensspr.audit.models import AuditEvent, Outcome
from opensspr.core import clock
from opensspr.core.crypto import keyed_digest
from opensspr.core.prepared import insert
from opensspr.core.request_meta import RequestMeta

# Whole words of a key (split on "_", "-", ".") that name a secret. Whole words, so
# that a setting such as "passwords_expire" or "pinned" is not mistaken for one.
_FORBIDDEN_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "pass",
        "code",
        "codes",
        "otp",
        "pin",
        "answer",
        "answers",
        "secret",
        "secrets",
        "token",
        "tokens",
        "hash",
        "seed",
        "key",
    }
)
_WORD_SPLIT = re.compile(r"[_.\-]+")
_MAX_LABEL = 256


class ForbiddenAuditDetailError(ValueError):
    """A detail key could carry a secret; audit rows never hold secrets."""


def _check_details(details: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in details.items():
        if _FORBIDDEN_WORDS & set(_WORD_SPLIT.split(key.lower())):
            raise ForbiddenAuditDetailError(f"audit detail key {key!r} could carry a secret")
        if isinstance(value, Mapping):
            _check_details(value)
    return dict(details)


def unknown_identifier_label(identifier_key: str) -> str:
    """How an unknown user ID appears in the audit log: a keyed digest, never the text.

    People sometimes type their password into the user ID box; storing what was
    typed would put that password in the audit log. The digest still lets an
    administrator match repeated attempts against one name.
    """
    return "unknown:" + keyed_digest("audit-unknown-user", identifier_key)[:20]


#: Events recorded inside ``written_together``, waiting for its one INSERT.
_pending: contextvars.ContextVar[list[AuditEvent] | None] = contextvars.ContextVar(
    "audit_pending", default=None
)


@contextmanager
def written_together() -> Iterator[None]:
    """The events recorded inside are inserted in one statement when the block ends.

    Open it *inside* the transaction that makes the changes (``with
    transaction.atomic(), written_together():``), so the events still commit or roll
    back with them; when the block raises, nothing is written. Nothing inside may
    catch a database error and go on (a rolled-back savepoint would leave its event
    waiting here): record the event after such a savepoint, not in it.
    """
    pending: list[AuditEvent] = []
    token = _pending.set(pending)
    try:
        yield
    finally:
        _pending.reset(token)
    if pending:
        insert(pending)  # one INSERT made once (``core.prepared``)


def record_event(
    *,
    activity: Activity,
    outcome: Outcome | str,
    meta: RequestMeta,
    reason: str = "",
    actor: User | None = None,
    target: User | None = None,
    target_label: str = "",
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Write one event. Call inside the transaction that makes the change it records.

    ``activity`` is a catalogue member; a string that is not a catalogue value
    (mypy stops those, a dynamic caller might not) raises ``UnknownActivityError``
    before a row is written.
    """
    event = AuditEvent(
        occurred_at=clock.now(),
        activity=to_activity(activity).value,
        outcome=Outcome(outcome),
        reason=reason,
        actor=actor,
        actor_label=(actor.user_id if actor else "")[:_MAX_LABEL],
        target=target,
        target_label=(target_label or (target.user_id if target else ""))[:_MAX_LABEL],
        correlation_id=meta.correlation_id,
        ip_address=meta.ip_address,
        user_agent=meta.user_agent,
        details=_check_details(details or {}),
    )
    pending = _pending.get()
    if pending is not None:
        pending.append(event)  # written with the others when ``written_together`` ends
    else:
        insert([event])
    return event


def record_audit_export(*, actor: User, rows: int, export_format: str, meta: RequestMeta) -> None:
    """Who took the audit log out of the console, how many events, in which format."""
    record_event(
        activity=Activity.AUDIT_EXPORTED,
        outcome=Outcome.SUCCESS,
        meta=meta,
        actor=actor,
        details={"rows": rows, "format": export_format},
    )
