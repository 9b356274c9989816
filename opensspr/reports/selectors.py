"""The registration report: per person, what they registered and whether they can reset.

One row per directory user (reference §10.4, "User registration details"): the
data registered and whether each piece was proven by the person, enabled /
registered / capable, the reason when not capable, the last confirmation, and
whether a throttle blocks the person from self-service reset right now (§5.1).
Filters narrow the rows; the console page and the CSV export read the same rows.

The rows come from each person's stored decision (``reports.status``), so
filters, totals and pages are SQL whatever the size of the directory; a
candidate policy is the impact preview's question (``reports.impact``).
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum
from typing import Any

from django.db.models import Count, Q, QuerySet

from opensspr.accounts.models import User
from opensspr.core import clock
from opensspr.policy.eligibility import Reason
from opensspr.policy.models import SsprPolicy
from opensspr.policy.reset_selectors import get_sspr_policy
from opensspr.reports.capability import Capability
from opensspr.reports.models import DataState, RegistrationStatus
from opensspr.reports.registered import (
    DataKind,
    MethodStatus,
    RegistrationSummary,
)
from opensspr.reports.status import bring_up_to_date, current_generation, decide_statuses
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


def list_registration_rows(
    filters: ReportFilters | None = None, *, with_blocks: bool = True
) -> list[RegistrationRow]:
    """Every row of the report the filters keep, ordered by user ID.

    The rows are the stored decisions (``reports.status``), brought up to date
    first when only a few are out of date, and filtered in SQL. Reset blocks are
    read unless ``with_blocks`` is False.
    """
    bring_up_to_date()
    rows = iter_stored_rows(filters or ReportFilters())
    return with_reset_blocks(rows) if with_blocks else list(rows)


def search_users(filters: ReportFilters) -> QuerySet[User]:
    """Everyone the search matches (everyone without one), in the report's order."""
    users = User.objects.order_by("user_id_key")
    if term := filters.search.strip():
        users = users.filter(Q(user_id__icontains=term) | Q(display_name__icontains=term))
    return users


def filter_users(filters: ReportFilters, policy: SsprPolicy | None = None) -> QuerySet[User]:
    """The people the filters keep, by their stored decisions, in the report's order: SQL only."""
    kept = _kept(filters, policy or get_sspr_policy(), on="registration_status__")
    users = search_users(filters)
    return users.none() if kept is None else users.filter(kept)


def _kept(filters: ReportFilters, policy: SsprPolicy, *, on: str) -> Q | None:
    """The filters other than the search, on ``RegistrationStatus`` fields after ``on``.

    None when nothing can match (reconfirmation due under a policy that never asks).
    """
    flags = {
        "enabled": filters.enabled,
        "registered": filters.registered,
        "capable": filters.capable,
        "unproven": filters.unproven,
    }
    kept = Q(**{on + name: value for name, value in flags.items() if value is not None})
    if filters.has_method is not None:
        kept &= Q(**{f"{on}{filters.has_method.value}__gt": DataState.NONE})
    if filters.confirmation == Confirmation.NEVER:
        kept &= Q(**{on + "confirmed_at__isnull": True})
    elif filters.confirmation == Confirmation.DUE:
        if not policy.reconfirm_days:  # 0: never asked to reconfirm
            return None
        due = clock.now() - timedelta(days=policy.reconfirm_days)
        kept &= Q(**{on + "confirmed_at__lte": due})
    return kept


#: People a search may keep for its pages and totals to come from one scan of the users.
SEARCH_CAP = 5000


@dataclass(frozen=True)
class Searched:
    """What one scan of the users found for a search: the people, in the report's order."""

    pks: list[int]  # the first ``SEARCH_CAP`` of them
    totals: "ReportTotals | None"  # None: more than ``SEARCH_CAP`` matched, count in SQL


def search_once(filters: ReportFilters, policy: SsprPolicy | None = None) -> Searched | None:
    """A search's people and their totals in one scan; None without a search.

    "Contains" can't use an index: each query reads every user (about 0.3 s at
    a million). So one query reads the people a search keeps with their stored
    decision's three flags: their totals and the first ``SEARCH_CAP / 100``
    pages come from it. Only a search keeping more needs a count in SQL.
    """
    if not filters.search.strip():
        return None
    on = "registration_status__"
    rows = list(
        filter_users(filters, policy).values_list(
            "pk", on + "enabled", on + "registered", on + "capable"
        )[: SEARCH_CAP + 1]
    )
    totals = None
    if len(rows) <= SEARCH_CAP:
        totals = ReportTotals(
            users=len(rows),
            enabled=sum(bool(row[1]) for row in rows),
            registered=sum(bool(row[2]) for row in rows),
            capable=sum(bool(row[3]) for row in rows),
        )
    return Searched([row[0] for row in rows[:SEARCH_CAP]], totals)


def users_in_order(pks: Sequence[int]) -> list[User]:
    """The users ``pks`` with their stored decisions, in the order given."""
    found = User.objects.select_related("registration_status").in_bulk(list(pks))
    return [found[pk] for pk in pks if pk in found]


def count_report(filters: ReportFilters, policy: SsprPolicy | None = None) -> "ReportTotals":
    """The totals of the rows the filters keep, in one query (unfiltered, and a count of users).

    Without a search the stored rows are counted alone: no join with the users,
    a third of the time at a million people. Unfiltered, the people counted are
    the users, as listed: a sync's new people have no row until its run ends.
    """
    policy = policy or get_sspr_policy()
    if filters.search.strip():
        return _totals(filter_users(filters, policy).order_by(), on="registration_status__")
    kept = _kept(filters, policy, on="")
    if kept is None:
        return ReportTotals(users=0, enabled=0, registered=0, capable=0)
    totals = _totals(RegistrationStatus.objects.filter(kept), on="")
    if not kept:  # everyone is listed, with a row or not yet (a sync's new people, mid-run)
        totals = replace(totals, users=User.objects.count())
    return totals


def _totals(rows: QuerySet[Any], *, on: str) -> "ReportTotals":
    """Count ``rows`` and their flags, which sit on ``RegistrationStatus`` fields after ``on``."""
    flags = {
        name: Count("pk", filter=Q(**{on + name: True}))
        for name in ("enabled", "registered", "capable")
    }
    return ReportTotals(**rows.aggregate(users=Count("pk"), **flags))


def stored_rows(users: Iterable[User], policy: SsprPolicy | None = None) -> list[RegistrationRow]:
    """The rows of ``users`` (a page) from their stored decisions, blocks not read.

    Any of them whose decision is out of date or missing is decided first, so a
    page always shows what is true now even while the worker catches up.
    """
    policy = policy or get_sspr_policy()
    users = list(users)
    generation = current_generation()
    late = [user.pk for user in users if not _current(user, generation)]
    if late:
        decide_statuses(late, policy)
        fresh = {
            user.pk: user
            for user in User.objects.select_related("registration_status").filter(pk__in=late)
        }
        users = [fresh.get(user.pk, user) for user in users]
    return [_row_of_status(user, policy) for user in users]


def _current(user: User, generation: int) -> bool:
    try:
        status = user.registration_status
    except RegistrationStatus.DoesNotExist:
        return False
    return status.generation >= generation and status.stale_since is None


def _row_of_status(user: User, policy: SsprPolicy) -> RegistrationRow:
    status = user.registration_status
    methods = tuple(
        MethodStatus(kind, getattr(status, kind.value) == DataState.PROVEN)
        for kind in DataKind
        if getattr(status, kind.value) != DataState.NONE
    )
    info = RegistrationSummary(
        methods=methods,
        confirmed_apps=status.confirmed_apps,
        answers=status.answers,
        answers_required=policy.questions_to_register,
        confirmed_at=status.confirmed_at,
    )
    capability = Capability(
        enabled=status.enabled,
        registered=status.registered,
        capable=status.capable,
        reason=Reason(status.reason) if status.reason else None,
    )
    return RegistrationRow(user=user, info=info, capability=capability)


def iter_stored_rows(filters: ReportFilters, *, chunk: int = 2000) -> Iterator[RegistrationRow]:
    """Every row the filters keep, from the stored decisions, a chunk of people at a time.

    Keyset paging on the user ID key (never OFFSET), so the CSV of a million
    people streams in constant memory and each chunk costs the same.
    """
    policy = get_sspr_policy()
    users = filter_users(filters, policy).select_related("registration_status")
    after = None
    while True:
        page = list((users.filter(user_id_key__gt=after) if after else users)[:chunk])
        if not page:
            return
        yield from stored_rows(page, policy)
        after = page[-1].user_id_key


def rows_of_users(users: Iterable[User], policy: SsprPolicy | None = None) -> list[RegistrationRow]:
    """The report's rows of just ``users`` (a page), blocks included, in the report's order."""
    return with_reset_blocks(stored_rows(users, policy))


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
