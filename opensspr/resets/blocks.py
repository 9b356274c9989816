"""Self-service reset blocks as administrators see and lift them (reference §5.1).

The throttles (``resets.throttles``) count per *typed* user ID, as a keyed digest,
so a block belongs to whatever was typed, known account or not. This module maps a
directory user to the throttle subjects that can block them: the subjects of every
identifier that resolves to them in the reset flow. Today that is only the user ID
(``accounts.selectors.get_user_by_identifier`` matches ``user_id_key``; the primary
email does not resolve), and case, width and surrounding spaces all fold into that
one key, so each user has exactly one subject. ``reset_subjects`` is the one place
to widen if the flow ever accepts another identifier.

Invariants kept here:

* A block on a subject no directory user resolves to (an unknown ID, a mistyped
  one) is never read or cleared through a user: it is nobody's to lift.
* Lifting deletes the subjects' rows and their counters (like a successful reset,
  ``throttles.clear``) under the rows' locks, in one transaction with its audit
  event. The event names the throttle that tripped, never what was typed.
* Only an administrator who may manage the user (``can_manage_user``) and whose
  role may change users (the permission the console's "Reset password to a
  temporary password" requires) may lift; the service checks this itself.
"""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import NamedTuple

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from opensspr.accounts.models import User
from opensspr.accounts.roles import role_allows
from opensspr.accounts.selectors import can_manage_user
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.resets.models import ThrottleSubject
from opensspr.resets.throttles import Action, subject_key

#: Why a block was set, in words, by the throttle that tripped (``ThrottleSubject.blocked_by``).
BLOCK_REASONS: dict[str, Promise] = {
    Action.VERIFY_FAILURE: _("too many failed verifications"),
    Action.SMS: _("too many text messages"),
    Action.CALL: _("too many calls"),
    Action.PHONE_CHECK: _("too many phone number checks"),
    Action.QUESTIONS: _("too many security question attempts"),
    Action.EMAIL: _("too many emails"),
}


class ResetBlock(NamedTuple):
    blocked_until: datetime
    blocked_by: str  # the throttle that tripped: an ``Action`` value

    @property
    def reason_label(self) -> str:
        return str(BLOCK_REASONS.get(self.blocked_by, self.blocked_by))


def reset_subjects(user: User) -> list[str]:
    """The throttle subjects of every identifier that resolves to ``user`` in the flow."""
    return [subject_key(user.user_id_key)]


def _latest(
    rows: Iterable[tuple[str, datetime | None, str]], now: datetime
) -> dict[str, ResetBlock]:
    """Active blocks by subject (a block that ran out is no block)."""
    return {key: ResetBlock(until, by) for key, until, by in rows if until and until > now}


def _active_blocks(subjects: list[str], now: datetime) -> dict[str, ResetBlock]:
    """One query while the backend takes that many parameters (always on PostgreSQL)."""
    size = connection.features.max_query_params or len(subjects) or 1
    found: dict[str, ResetBlock] = {}
    for start in range(0, len(subjects), size):
        rows = ThrottleSubject.objects.filter(
            key__in=subjects[start : start + size], blocked_until__gt=now
        ).values_list("key", "blocked_until", "blocked_by")
        found.update(_latest(rows, now))
    return found


def _worst(blocks: Iterable[ResetBlock]) -> ResetBlock | None:
    return max(blocks, key=lambda b: b.blocked_until, default=None)


def get_reset_block(user: User) -> ResetBlock | None:
    """Whether ``user`` is blocked from self-service reset now: until when, and why."""
    blocks = _active_blocks(reset_subjects(user), clock.now())
    return _worst(blocks.values())


def list_reset_blocks(users: Iterable[User]) -> dict[int, ResetBlock]:
    """Active blocks of many users by primary key; subjects computed here, read at once."""
    owners: dict[str, int] = {}
    for user in users:
        for subject in reset_subjects(user):
            owners[subject] = user.pk
    per_user: dict[int, list[ResetBlock]] = {}
    for subject, block in _active_blocks(list(owners), clock.now()).items():
        per_user.setdefault(owners[subject], []).append(block)
    return {pk: worst for pk, blocks in per_user.items() if (worst := _worst(blocks))}


def may_lift_reset_block(actor: User, target: User) -> bool:
    """The actor manages ``target`` and has a role that may change users (reset passwords)."""
    return can_manage_user(actor, target) and role_allows(
        actor.admin_roles, "accounts", "user", "change"
    )


def lift_reset_block(*, actor: User, user: User, meta: RequestMeta) -> ResetBlock | None:
    """End ``user``'s self-service reset block at once, counters included.

    Returns the block lifted, or None when there was none any more (it ran out, a
    reset cleared it, or another administrator lifted it first): then nothing is
    written. Raises ``PermissionDenied`` unless ``may_lift_reset_block``.
    """
    if not may_lift_reset_block(actor, user):
        raise PermissionDenied("this administrator may not lift this user's reset block")
    now = clock.now()
    subjects = reset_subjects(user)
    with transaction.atomic():
        rows = ThrottleSubject.objects.select_for_update().filter(key__in=subjects)
        block = _worst(
            _latest(rows.values_list("key", "blocked_until", "blocked_by"), now).values()
        )
        if block is None:
            return None
        ThrottleSubject.objects.filter(key__in=subjects).delete()
        record_event(
            activity=Activity.RESET_BLOCK_LIFTED,
            outcome=Outcome.SUCCESS,
            reason=block.blocked_by,
            meta=meta,
            actor=actor,
            target=user,
            details={
                "throttle": block.blocked_by,
                "blocked_until": block.blocked_until.astimezone(UTC).isoformat(),
            },
        )
    return block
