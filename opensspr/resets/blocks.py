"""Self-service reset blocks as administrators see and lift them (reference §5.1).

The §5.1 throttles (``throttles`` rules of scope ``sspr``) count per *typed* user
ID, as a keyed digest, so a block belongs to whatever was typed, known account or
not. This module maps a
directory user to the throttle subjects that can block them: the subjects of every
identifier that resolves to them in the reset flow. Today that is only the user ID
(``accounts.selectors.get_user_by_identifier`` matches ``user_id_key``; the primary
email does not resolve), and case, width and surrounding spaces all fold into that
one key, so each user has exactly one subject. ``reset_subjects`` is the one place
to widen if the flow ever accepts another identifier.

Invariants kept here:

* A block on a subject no directory user resolves to (an unknown ID, a mistyped
  one) is never read or cleared through a user: it is nobody's to lift.
* Lifting deletes the subjects' counts and block (like a successful reset,
  ``service.clear``), reading the block under the same lock, in one transaction
  with its audit event; when there was no block any more, nothing is written.
  The event names the throttle that tripped, never what was typed.
* Only an administrator the helpdesk rule allows (``accounts.authority.may_act``:
  a helpdesk role whose reach covers the person's roles) may lift; the service
  checks this itself.
"""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import NamedTuple

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from opensspr.accounts.authority import HelpdeskAction, may_act
from opensspr.accounts.models import User
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.policy.kinds import MethodKind
from opensspr.throttles import rules, service
from opensspr.throttles.base import Block
from opensspr.throttles.rules import Scope
from opensspr.throttles.subjects import all_subjects, typed_user_id

#: Why a block was set, in words, by the rule that tripped (``Block.by``).
BLOCK_REASONS: dict[str, Promise] = {
    rules.SSPR_VERIFY_FAILURE.name: _("too many failed verifications"),
    rules.SSPR_SMS.name: _("too many text messages"),
    rules.SSPR_CALL.name: _("too many calls"),
    "sspr.phone_check": _("too many phone number checks"),  # a rule of before 2026-12
    rules.SSPR_QUESTIONS.name: _("too many security question attempts"),
    rules.SSPR_EMAIL.name: _("too many emails"),
}
SHORT_PAUSE = _("a short pause after wrong codes in a row")
_PREFIX = f"{Scope.SSPR}."


class ResetBlock(NamedTuple):
    blocked_until: datetime
    blocked_by: str  # the limit that tripped, as audited: the rule's name without "sspr."

    @property
    def rule(self) -> str:
        return _PREFIX + self.blocked_by

    @property
    def reason_label(self) -> str:
        if self.rule == rules.SSPR_VERIFY_FAILURE.name and rules.VERIFY_PAUSES.is_short(
            self.blocked_until, clock.now()
        ):
            return str(SHORT_PAUSE)  # the 3rd or 4th wrong answer: seconds, not a day
        return str(BLOCK_REASONS.get(self.rule, self.blocked_by))


def _reset_block(block: Block) -> ResetBlock:
    return ResetBlock(block.until, block.by.removeprefix(_PREFIX))


def reset_subjects(user: User) -> list[str]:
    """The throttle subjects of every identifier that resolves to ``user`` in the flow."""
    return all_subjects(typed_user_id(user.user_id_key), [kind.value for kind in MethodKind])


def _worst(blocks: Iterable[Block]) -> ResetBlock | None:
    worst = max(blocks, key=lambda b: b.until, default=None)
    return _reset_block(worst) if worst else None


def get_reset_block(user: User) -> ResetBlock | None:
    """Whether ``user`` is blocked from self-service reset now: until when, and why."""
    return _worst(service.list_blocks(Scope.SSPR, reset_subjects(user)).values())


def list_reset_blocks(users: Iterable[User]) -> dict[int, ResetBlock]:
    """Active blocks of many users by primary key; subjects computed here, read at once."""
    users = list(users)
    if len(users) > 1 and not service.has_blocks(Scope.SSPR):
        return {}  # nobody is blocked: no need to digest 17 subjects a person
    owners: dict[str, int] = {}
    for user in users:
        for subject in reset_subjects(user):
            owners[subject] = user.pk
    per_user: dict[int, list[Block]] = {}
    for subject, block in service.list_blocks(Scope.SSPR, list(owners)).items():
        per_user.setdefault(owners[subject], []).append(block)
    return {pk: worst for pk, blocks in per_user.items() if (worst := _worst(blocks))}


def may_lift_reset_block(actor: User, target: User) -> bool:
    """The helpdesk rule (``accounts.authority``): the actor's roles reach ``target``'s."""
    return may_act(actor, target, HelpdeskAction.LIFT_BLOCK)


def lift_reset_block(*, actor: User, user: User, meta: RequestMeta) -> ResetBlock | None:
    """End ``user``'s self-service reset block at once, counters included.

    Returns the block lifted, or None when there was none any more (it ran out, a
    reset cleared it, or another administrator lifted it first): then nothing is
    written. Raises ``PermissionDenied`` unless ``may_lift_reset_block``.
    """
    if not may_lift_reset_block(actor, user):
        raise PermissionDenied("this administrator may not lift this user's reset block")
    now = clock.now()
    with transaction.atomic():
        block = _worst(service.clear(Scope.SSPR, *reset_subjects(user), now=now).values())
        if block is None:
            transaction.set_rollback(True)  # no block: the counts stay as they were
            return None
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
