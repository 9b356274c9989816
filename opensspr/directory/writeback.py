"""Crash-safe password writes to the on-premises directory (direct mode).

A write to the directory and the audit row, notification and flow step that
follow it can't share one transaction: the directory isn't our database. So a
password write is done in three moves:

1. ``begin``: read the entry's password marker, then commit a ``pending``
   ``WritebackIntent`` (together with whatever the caller moves in the same
   transaction, e.g. the reset flow into its "writing" state);
2. the write itself, outside any transaction;
3. ``settle``: one conditional UPDATE takes the intent out of ``pending`` and, in
   the same transaction, the purpose's *finisher* records the outcome (audit,
   notification, the flow's next state).

A process killed between 2 and 3, or a write whose answer was lost, leaves the
intent ``pending``. ``reconcile`` reads the marker again: changed means the
write landed, so it settles as applied and the finisher audits and notifies
exactly once; unchanged after ``GRACE`` (longer than any write can stay in
flight) means it never landed. Nothing here writes a password twice: a blind
retry of a write that did land fails as "password in history" and would tell
the person their new password was refused.

Finishers are registered by the apps that own the purpose (``register``), so
this module knows no flow, page or notification, and the apps above it don't
import each other to finish.
"""

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from opensspr.accounts.models import User
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta, new_correlation_id
from opensspr.directory import connector_for
from opensspr.directory.base import OnPremisesConnector
from opensspr.directory.errors import DirectoryError, DirectoryUnavailableError
from opensspr.directory.models import IntentState, WritebackIntent

logger = logging.getLogger("opensspr.directory.writeback")

#: A pending write older than this can no longer land: connect and operation
#: timeouts of every configured server are far shorter. Only then is an
#: unchanged marker read as "not applied".
GRACE = timedelta(minutes=2)


@dataclass(frozen=True)
class Settled:
    """How an intent ended, handed to its purpose's finisher inside the settling transaction."""

    intent: WritebackIntent
    applied: bool
    reason: str  # "" when applied; a DirectoryCode or "reconciled" otherwise
    by_reconciler: bool
    local: Any = (
        None  # what the request already holds (its flow), so the finisher needn't reload it
    )


Finisher = Callable[[Settled], Any]
_finishers: dict[str, Finisher] = {}


def register(purpose: str, finisher: Finisher) -> None:
    """``finisher`` records the outcome of every ``purpose`` write (called once per write)."""
    _finishers[purpose] = finisher


def meta_context(meta: RequestMeta) -> dict[str, str | None]:
    """The request's address and correlation id: a reconciled write audits like the request."""
    return {
        "ip": meta.ip_address,
        "agent": meta.user_agent[:200],
        "correlation": meta.correlation_id,
    }


def meta_of(intent: WritebackIntent) -> RequestMeta:
    data = intent.context.get("meta")
    if not isinstance(data, dict):
        return RequestMeta.system()
    return RequestMeta(
        ip_address=data.get("ip"),
        user_agent=str(data.get("agent") or ""),
        correlation_id=str(data.get("correlation") or "") or new_correlation_id(),
    )


def on_premises(user: User) -> OnPremisesConnector | None:
    """The user's on-premises connector, or None when their password lives here."""
    connector = connector_for(user)
    return connector if isinstance(connector, OnPremisesConnector) else None


def begin(
    connector: OnPremisesConnector,
    user: User,
    purpose: str,
    context: Mapping[str, object],
    *,
    also: Callable[[WritebackIntent], object] | None = None,
) -> WritebackIntent:
    """Record the write about to happen; ``also`` runs in the same transaction.

    Raises ``DirectoryError`` when even the marker can't be read: then nothing
    is recorded and nothing will be written.
    """
    if purpose not in _finishers:
        raise LookupError(f"no finisher registered for {purpose!r}")
    marker, server = _marker_and_server(connector, user)
    with transaction.atomic():
        intent = WritebackIntent.objects.create(
            purpose=purpose,
            user=user,
            dn=user.on_premises_dn,
            marker=marker or "",
            marker_known=marker is not None,
            server=server,
            context=dict(context),
            started_at=clock.now(),
        )
        if also is not None:
            also(intent)
    return intent


def settle(
    intent: WritebackIntent,
    *,
    applied: bool,
    reason: str = "",
    by_reconciler: bool = False,
    local: Any = None,
) -> tuple[bool, Any]:
    """End ``intent`` and run its finisher, unless someone else ended it first.

    Returns whether this call settled it, and what the finisher returned.
    """
    now = clock.now()
    state = IntentState.APPLIED if applied else IntentState.NOT_APPLIED
    with transaction.atomic():
        won = WritebackIntent.objects.filter(pk=intent.pk, state=IntentState.PENDING).update(
            state=state, reason=reason[:64], finished_at=now
        )
        if not won:
            return False, None
        intent.state, intent.reason, intent.finished_at = state, reason[:64], now
        result = _finishers[intent.purpose](Settled(intent, applied, reason, by_reconciler, local))
    return True, result


@dataclass(frozen=True)
class WriteOutcome:
    """What became of one write: applied, not applied (``error`` says why) or still pending."""

    state: IntentState
    error: DirectoryError | None = None
    result: Any = None  # the finisher's result; None when still pending


def run(
    connector: OnPremisesConnector,
    intent: WritebackIntent,
    write: Callable[[], None],
    *,
    local: Any = None,
) -> WriteOutcome:
    """Send ``write`` and settle ``intent`` by its outcome.

    A refusal settles as not applied. A lost answer (``maybe_written``) is
    checked at once against the marker; if that can't tell yet the intent stays
    pending for the reconciler or the person's next try.
    """
    try:
        with _guarded(connector, intent), _pinned(connector, intent):
            write()
    except DirectoryUnavailableError as exc:
        if exc.maybe_written:
            try:
                moved = landed(connector, intent)
            except DirectoryError:
                moved = False
            if moved:
                return WriteOutcome(IntentState.APPLIED, result=_settle(intent, True, "", local))
            return WriteOutcome(IntentState.PENDING, error=exc)
        result = _settle(intent, False, str(exc.code), local)
        return WriteOutcome(IntentState.NOT_APPLIED, error=exc, result=result)
    except DirectoryError as exc:
        result = _settle(intent, False, str(exc.code), local)
        return WriteOutcome(IntentState.NOT_APPLIED, error=exc, result=result)
    return WriteOutcome(IntentState.APPLIED, result=_settle(intent, True, "", local))


def _guarded(
    connector: OnPremisesConnector, intent: WritebackIntent
) -> AbstractContextManager[None]:
    """The write under the intent's marker, for connectors that can check it before writing.

    Through an agent, a write whose first agent vanished is handed to the next
    one; the marker tells that one whether the first write already landed.
    """
    writing = getattr(connector, "writing", None)
    if writing is None:
        return nullcontext()
    guard: AbstractContextManager[None] = writing(intent.marker, known=intent.marker_known)
    return guard


def _marker_and_server(connector: OnPremisesConnector, user: User) -> tuple[str | None, str]:
    """The marker before the write, and which server gave it ("" when the connector can't say)."""
    where = getattr(connector, "password_marker_where", None)
    if where is None:
        return connector.password_marker(user), ""
    marker, server = where(user)
    return marker, str(server)


def _pinned(
    connector: OnPremisesConnector, intent: WritebackIntent
) -> AbstractContextManager[None]:
    """The write, and the reads that settle it, on the server that gave the marker.

    Replicas lag (security bar F5): a second server may not have the write yet,
    and its unchanged marker would read as "never landed". If that server is
    down, the intent stays pending until it answers again.
    """
    on_server = getattr(connector, "on_server", None)
    if on_server is None or not intent.server:
        return nullcontext()
    pinned: AbstractContextManager[None] = on_server(intent.server)
    return pinned


def _settle(intent: WritebackIntent, applied: bool, reason: str, local: Any) -> Any:
    return settle(intent, applied=applied, reason=reason, local=local)[1]


def landed(connector: OnPremisesConnector, intent: WritebackIntent) -> bool:
    """Whether the directory's password marker moved since ``begin`` read it."""
    user = intent.user
    with _pinned(connector, intent):
        marker = connector.password_marker(user)
    if not intent.marker_known:
        return marker is not None
    return (marker or "") != intent.marker


def reconcile(
    intent: WritebackIntent, *, now: datetime | None = None, local: Any = None
) -> IntentState:
    """Find out whether a pending write landed, and settle it if that is known.

    Applied as soon as the marker moved; not applied only after ``GRACE``.
    Returns the intent's state afterwards (still ``pending`` if the directory
    can't be read or the write might still land).
    """
    now = now or clock.now()
    if intent.state != IntentState.PENDING:
        return IntentState(intent.state)
    connector = on_premises(intent.user)
    if connector is None:  # the user is no longer synced: nothing to read
        settle(intent, applied=False, reason="not_synced", by_reconciler=True, local=local)
        return IntentState(intent.state)
    try:
        moved = landed(connector, intent)
    except DirectoryError as exc:
        logger.info("writeback %s still pending: %s", intent.pk, exc.code)
        return IntentState.PENDING
    if moved:
        settle(intent, applied=True, by_reconciler=True, local=local)
    elif now - intent.started_at >= GRACE:
        settle(intent, applied=False, reason="reconciled", by_reconciler=True, local=local)
    else:
        return IntentState.PENDING
    intent.refresh_from_db(fields=["state", "reason", "finished_at"])
    return IntentState(intent.state)


def reconcile_pending(*, now: datetime | None = None, older_than: timedelta = GRACE) -> int:
    """Reconcile every pending write started more than ``older_than`` ago; how many settled.

    The worker runs it beside deliveries; a live request finishes its own
    writes well within ``older_than``.
    """
    now = now or clock.now()
    settled = 0
    pending = WritebackIntent.objects.filter(
        state=IntentState.PENDING, started_at__lte=now - older_than
    ).select_related("user")
    for intent in pending.order_by("started_at")[:100]:
        try:
            state = reconcile(intent, now=now)
        except Exception as exc:  # one broken finisher must not stop the others
            logger.error("writeback %s: reconcile failed: %s", intent.pk, type(exc).__name__)
            continue
        if state != IntentState.PENDING:
            settled += 1
    return settled


def run_due_reconciliation() -> None:
    """The worker's periodic call (registered with the delivery loop)."""
    reconcile_pending()
