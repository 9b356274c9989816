"""Who may reset: the pure eligibility engine (reference §1.4, §2.4, §3).

``evaluate`` takes plain facts and returns a decision listing every check with
its reason code. It reads nothing and changes nothing, so it is tested as a
table. The order follows the reference: is SSPR enabled for the user (scope,
group, licence, account state), has the user enough authentication data
(administrators: the two-gate policy), and where is the password managed.

Administrators follow their own stricter policy, independent of the user policy's
scope (reference §3): two distinct methods, never security questions. Unlike the
reference they use only methods the policy allows: otherwise an administrator's
method list would differ from everyone else's and show who is one (attack A1).
"""

from dataclasses import dataclass
from enum import StrEnum

from opensspr.policy.kinds import ADMIN_KINDS, MethodKind, RegisteredMethod


class Scope(StrEnum):
    NONE = "none"
    SELECTED = "selected"
    ALL = "all"


class Reason(StrEnum):
    """Why someone can't reset; the value is the stable public code (docs/operators)."""

    UNKNOWN_USER = "OSSPR_0001"  # internal only: never shown as such
    ADMIN_SSPR_DISABLED = "OSSPR_0008"
    ORG_DISABLED = "OSSPR_0009"
    WRITEBACK_OFF = "OSSPR_0010"
    NOT_LICENSED = "OSSPR_0012"
    NOT_IN_GROUP = "OSSPR_0013"
    NOT_ENOUGH_METHODS = "OSSPR_0014"
    ADMIN_TWO_GATE = "OSSPR_0015"
    ACCOUNT_DISABLED = "OSSPR_0016"
    PERSONAL_ACCOUNT = "OSSPR_0017"
    WRITEBACK_UNREACHABLE = "OSSPR_0030"


class Writeback(StrEnum):
    NOT_NEEDED = "not_needed"  # the password lives in the built-in directory
    AVAILABLE = "available"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class PolicyFacts:
    scope: Scope
    in_scope_group: bool  # the user is a (nested) member of the selected group
    methods_required: int
    allowed: frozenset[MethodKind]
    admins_may_reset: bool
    writeback_enabled: bool


@dataclass(frozen=True)
class UserFacts:
    exists: bool
    is_admin: bool = False
    enabled: bool = True
    licensed: bool = True
    personal_account_guest: bool = False
    synced: bool = False
    registered: tuple[RegisteredMethod, ...] = ()


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    reason: Reason | None = None


@dataclass(frozen=True)
class Decision:
    eligible: bool
    checks: tuple[Check, ...]
    reason: Reason | None
    gates_required: int
    methods: tuple[RegisteredMethod, ...]  # usable at the gates, in a stable order


def usable_methods(policy: PolicyFacts, user: UserFacts) -> tuple[RegisteredMethod, ...]:
    allowed = policy.allowed & ADMIN_KINDS if user.is_admin else policy.allowed
    order = list(MethodKind)
    return tuple(
        sorted((m for m in user.registered if m.kind in allowed), key=lambda m: order.index(m.kind))
    )


def distinct_channels(methods: tuple[RegisteredMethod, ...]) -> int:
    return len({m.channel for m in methods})


def has_enough_methods(methods: tuple[RegisteredMethod, ...], required: int) -> bool:
    """Enough distinct channels for every gate, questions never standing alone.

    Security questions are only ever asked after a possession gate (OWASP SQ-1),
    so they count only as a second method: a person needs at least one method
    that reaches something they hold, and with one gate questions don't count.
    """
    possession = tuple(m for m in methods if m.kind != MethodKind.SECURITY_QUESTIONS)
    held = distinct_channels(possession)
    knowledge = distinct_channels(methods) - held
    return held >= 1 and held + (knowledge if required > 1 else 0) >= required


def evaluate(policy: PolicyFacts, user: UserFacts, writeback: Writeback) -> Decision:
    required = 2 if user.is_admin else policy.methods_required
    methods = usable_methods(policy, user)
    checks = [
        Check("user_exists", user.exists, Reason.UNKNOWN_USER),
        *_enabled_checks(policy, user),
        Check("licensed", user.licensed, Reason.NOT_LICENSED),
        Check("account_enabled", user.enabled, Reason.ACCOUNT_DISABLED),
        Check("not_personal_account", not user.personal_account_guest, Reason.PERSONAL_ACCOUNT),
        Check(
            "enough_methods",
            has_enough_methods(methods, required),
            Reason.ADMIN_TWO_GATE if user.is_admin else Reason.NOT_ENOUGH_METHODS,
        ),
        Check(
            "writeback_enabled", not user.synced or policy.writeback_enabled, Reason.WRITEBACK_OFF
        ),
        Check(
            "writeback_reachable", writeback != Writeback.UNREACHABLE, Reason.WRITEBACK_UNREACHABLE
        ),
    ]
    final = tuple(Check(c.name, c.passed, None if c.passed else c.reason) for c in checks)
    failed = next((c for c in final if not c.passed), None)
    return Decision(
        eligible=failed is None,
        checks=final,
        reason=failed.reason if failed else None,
        gates_required=required,
        methods=methods,
    )


def _enabled_checks(policy: PolicyFacts, user: UserFacts) -> list[Check]:
    if user.is_admin:
        return [Check("admins_may_reset", policy.admins_may_reset, Reason.ADMIN_SSPR_DISABLED)]
    return [
        Check("enabled_for_organisation", policy.scope != Scope.NONE, Reason.ORG_DISABLED),
        Check(
            "in_scope", policy.scope != Scope.SELECTED or policy.in_scope_group, Reason.NOT_IN_GROUP
        ),
    ]
