"""The registration report: per person, what they registered and whether they can reset.

One row per directory user (reference §10.4, "User registration details"): the
data registered and whether each piece was proven by the person, enabled /
registered / capable, the reason when not capable, the last confirmation, and
whether a throttle blocks the person from self-service reset right now (§5.1).
Filters narrow the rows; the console page and the CSV export read the same rows.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum

from django.db.models import Q, QuerySet

from opensspr.accounts.models import User
from opensspr.core import clock
from opensspr.policy.models import SsprPolicy
from opensspr.policy.reset_selectors import get_sspr_policy
from opensspr.reports.capability import Capability, iter_capabilities
from opensspr.reports.registered import (
    DataKind,
    RegistrationSummary,
    summary_of_annotated,
    users_with_registration_counts,
)
from opensspr.resets.blocks import ResetBlock, list_reset_blocks


class Confirmation(StrEnum):
    NEVER = "never"  # never registered or reconfirmed
    DUE = "due"  # last confirmed longer ago than the policy's reconfirmation interval


@dataclass(frozen=True)
class ReportFilters:
    """Every field optional; None means "don't filter on this"."""

    search: str = ""  # part of the user ID or display name
    enabled: bool | None = None
    registered: bool | None = None
    capable: bool | None = None
    has_method: DataKind | None = None
    unproven: bool | None = None  # has at least one piece of data the person didn't prove
    confirmation: Confirmation | None = None


@dataclass(frozen=True)
class RegistrationRow:
    user: User
    info: RegistrationSummary
    capability: Capability
    #: Blocked from self-service reset by a throttle now; independent of ``capability``.
    reset_block: ResetBlock | None = None

    @property
    def has_unproven(self) -> bool:
        return any(not m.proven for m in self.info.methods)


def _matches(row: RegistrationRow, f: ReportFilters, policy: SsprPolicy) -> bool:
    checks = [
        f.enabled is None or row.capability.enabled == f.enabled,
        f.registered is None or row.capability.registered == f.registered,
        f.capable is None or row.capability.capable == f.capable,
        f.has_method is None or f.has_method in row.info.kinds,
        f.unproven is None or row.has_unproven == f.unproven,
        f.confirmation is None or _confirmation_matches(row, f.confirmation, policy),
    ]
    return all(checks)


def _confirmation_matches(row: RegistrationRow, wanted: Confirmation, policy: SsprPolicy) -> bool:
    confirmed = row.info.confirmed_at
    if wanted == Confirmation.NEVER:
        return confirmed is None
    if not policy.reconfirm_days:  # 0: never asked to reconfirm
        return False
    due = clock.now() - timedelta(days=policy.reconfirm_days)
    return confirmed is not None and confirmed <= due


def list_registration_rows(
    filters: ReportFilters | None = None,
    policy: SsprPolicy | None = None,
    *,
    with_blocks: bool = True,
) -> list[RegistrationRow]:
    """The report's rows, ordered by user ID, under the current (or a given) policy.

    The search narrows in the database; the other filters need each person's
    eligibility decision, so every remaining user is evaluated once, in bulk: a
    fixed number of queries per chunk of people, not per person. Reset blocks of
    the rows kept are read in one more query, unless ``with_blocks`` is False:
    a page of the report reads them for its own rows only (``with_reset_blocks``),
    since each person has 17 throttle subjects to digest and look up.
    """
    filters = filters or ReportFilters()
    policy = policy or get_sspr_policy()
    rows = _rows_of(search_users(filters), policy)
    kept = [row for row in rows if _matches(row, filters, policy)]
    return with_reset_blocks(kept) if with_blocks else kept


def _rows_of(users: QuerySet[User], policy: SsprPolicy) -> Iterator[RegistrationRow]:
    for user, (capability,) in iter_capabilities(users_with_registration_counts(users), (policy,)):
        yield RegistrationRow(
            user=user, info=summary_of_annotated(user, policy), capability=capability
        )


def needs_decisions(filters: ReportFilters) -> bool:
    """Whether a filter other than the search is set: those read each person's decision."""
    return any(
        value is not None
        for value in (
            filters.enabled,
            filters.registered,
            filters.capable,
            filters.has_method,
            filters.unproven,
            filters.confirmation,
        )
    )


def search_users(filters: ReportFilters) -> QuerySet[User]:
    """Everyone the search matches (everyone without one), in the report's order."""
    users = User.objects.order_by("user_id_key")
    if term := filters.search.strip():
        users = users.filter(Q(user_id__icontains=term) | Q(display_name__icontains=term))
    return users


def rows_of_users(users: Iterable[User], policy: SsprPolicy | None = None) -> list[RegistrationRow]:
    """The report's rows of just ``users`` (a page), blocks included, in the report's order.

    A page of an unfiltered or searched report pages the users in SQL and decides
    only its own people: time independent of the size of the directory.
    """
    policy = policy or get_sspr_policy()
    pks = [user.pk for user in users]
    return with_reset_blocks(
        _rows_of(User.objects.filter(pk__in=pks).order_by("user_id_key"), policy)
    )


def with_reset_blocks(rows: Iterable[RegistrationRow]) -> list[RegistrationRow]:
    """``rows`` with each person's current self-service reset block, read at once."""
    rows = list(rows)
    blocks = list_reset_blocks(row.user for row in rows)
    return [replace(row, reset_block=blocks.get(row.user.pk)) for row in rows]


@dataclass(frozen=True)
class ReportTotals:
    users: int
    enabled: int
    registered: int
    capable: int


def count_report_totals(rows: list[RegistrationRow]) -> ReportTotals:
    return ReportTotals(
        users=len(rows),
        enabled=sum(r.capability.enabled for r in rows),
        registered=sum(r.capability.registered for r in rows),
        capable=sum(r.capability.capable for r in rows),
    )
