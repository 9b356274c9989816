"""The opaque handle the browser or API client holds, and finding its flow.

The row keeps only a keyed digest of the handle; every step that changes the
flow replaces it (``transitions.advance``), so an old handle finds nothing.
"""

import secrets
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from opensspr.core.crypto import keyed_digest
from opensspr.core.prepared import Param, PreparedSelect
from opensspr.policy.reset_selectors import (
    FACT_COLUMNS,
    keep_stored_facts,
    stored_facts_annotations,
)
from opensspr.resets.flow.errors import FlowError
from opensspr.resets.models import Challenge, FlowState, ResetFlow

#: A flow that ended stays readable (its last page) after it expires.
ENDED = frozenset({FlowState.DONE, FlowState.BLOCKED})


def handle_digest(handle: str) -> str:
    return keyed_digest("reset-handle", handle)


def new_handle() -> tuple[str, str]:
    """A fresh handle for the client and the digest the row keeps."""
    handle = secrets.token_urlsafe(32)
    return handle, handle_digest(handle)


def _annotations() -> dict[str, Any]:
    """The person's stored facts and whether a challenge is open, read with the flow.

    SQL of quoted names only (see ``stored_facts_annotations``), built once.
    """
    q = connection.ops.quote_name
    flows, challenges = q(ResetFlow._meta.db_table), q(Challenge._meta.db_table)
    unconsumed = (
        f"EXISTS(SELECT 1 FROM {challenges} WHERE {challenges}.{q('flow_id')} = "  # noqa: S608  # quoted names only
        f"{flows}.{q('id')} AND {challenges}.{q('consumed_at')} IS NULL)"
    )
    return {
        **stored_facts_annotations(ResetFlow._meta.db_table, "user_id"),
        "has_unconsumed": RawSQL(unconsumed, (), output_field=BooleanField()),  # noqa: S611  # no values
    }


_ANNOTATIONS = cache(_annotations)

#: Read by every step: compiled once (``core.prepared``), run with the digest (and the time).
_FLOW = PreparedSelect(
    lambda digest: (
        ResetFlow.objects.select_related("user")
        .annotate(**_ANNOTATIONS())
        .filter(handle_digest=digest)
        .order_by("pk")[:1]
    ),
    Param(ResetFlow._meta.get_field("handle_digest")),
)
_OPEN_CHALLENGE = PreparedSelect(
    lambda digest, now: (
        Challenge.objects.select_related("flow", "flow__user")
        .annotate(**stored_facts_annotations(ResetFlow._meta.db_table, "user_id"))
        .filter(flow__handle_digest=digest, consumed_at__isnull=True, expires_at__gt=now)
        .order_by("-issued_at", "-pk")[:1]
    ),
    Param(ResetFlow._meta.get_field("handle_digest")),
    Param(Challenge._meta.get_field("expires_at")),
)


def find_flow_with_challenge(handle: str, now: datetime) -> tuple[ResetFlow, Challenge | None]:
    """``find_flow`` with the flow's open challenge (``view.open_challenge``), read together
    in one query for the step that answers it; the flow alone when none is open.

    The query starts from the challenge and joins its flow and user: the flow's row is
    joined under its table's own name, so the stored facts read as in ``find_flow``.
    """
    challenge = _OPEN_CHALLENGE.first(handle_digest(handle[:100]), now)
    if challenge is None:
        return find_flow(handle, now), None
    flow = challenge.flow
    flow.has_unconsumed = True  # type: ignore[attr-defined]  # this one (find_flow's annotation)
    if flow.user is not None:
        keep_stored_facts(flow.user, {name: getattr(challenge, name) for name in FACT_COLUMNS})
    if flow.expires_at <= now and flow.state not in ENDED:
        raise FlowError("flow_expired")
    return flow, challenge


def find_flow(handle: str, now: datetime) -> ResetFlow:
    """The live flow behind ``handle`` (its user and the user's stored facts loaded with
    it, in one query), or ``FlowError``."""
    flow = _FLOW.first(handle_digest(handle[:100]))
    if flow is None:
        raise FlowError("flow_not_found")
    if flow.user is not None:  # every step looks at the person again: read with the flow
        keep_stored_facts(flow.user, {name: getattr(flow, name) for name in FACT_COLUMNS})
    if flow.expires_at <= now and flow.state not in ENDED:
        raise FlowError("flow_expired")
    return flow
