"""Each person's registration decision, kept (``RegistrationStatus``) so reports can ask SQL.

Deciding whether someone can reset takes the eligibility engine (policy, groups,
roles, methods): about 0.3 ms a person in bulk, so five minutes for a million.
The registration report filters and counts on those decisions; it can't make a
million of them per page. So the decision is made when something changes and
stored, and the report filters, counts and pages the stored rows in SQL.

A stored decision goes out of date in two ways, and each has its marker:

* something about one person changed (contact data, methods, proofs, roles,
  group membership): ``mark_stale`` stamps their row's ``stale_since``;
* something about everyone changed (the policy, the nesting of groups):
  ``bump_generation`` makes every row decided before it out of date at once.

Both arrive through signals (``reports.receivers``), so the apps that write
people's data don't know about reports. Rows are decided again by the worker,
a chunk per turn (``refresh_stale``), and by a report that finds only a few out
of date (``bring_up_to_date``): then its filters and counts are exact. The
worker's registration count (``reports.snapshot``) also decides everyone again
in turn, which repairs a row whose change no signal reported.

Race: a change that lands while its person is being decided keeps the row
stale, since ``decide_statuses`` clears only the marks older than its start.
Both times are read from the real clock (``_moment``), not the product's
``core.clock``: they order a mark against a decision, and a frozen clock (the
tests', the demo's time travel) would make them equal.
"""

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from itertools import batched

from django.db import connection
from django.db.models import Count, F, Q, QuerySet

from opensspr.accounts.models import User
from opensspr.core.sql import one_of
from opensspr.policy.models import SsprPolicy
from opensspr.policy.reset_selectors import get_sspr_policy
from opensspr.reports.capability import Capability, iter_capabilities
from opensspr.reports.models import (
    SNAPSHOT_COUNTERS,
    DataState,
    RegistrationStatus,
    RollupState,
)
from opensspr.reports.registered import (
    DataKind,
    RegistrationSummary,
    summary_of_annotated,
    users_with_registration_counts,
)

#: Out-of-date people a report decides itself before filtering (about half a second).
REFRESH_LIMIT = 2000
#: People decided per round of queries.
CHUNK = 2000

_DECIDED = [
    "enabled",
    "registered",
    "capable",
    "reason",
    *(kind.value for kind in DataKind),
    "unproven",
    "confirmed_apps",
    "answers",
    "confirmed_at",
    "generation",
    "decided_at",
]


def current_generation() -> int:
    found = RollupState.objects.filter(pk=1).values_list("status_generation", flat=True).first()
    return found or 1


def bump_generation() -> None:
    """Every stored decision is out of date: the policy or the group tree changed."""
    if not RollupState.objects.filter(pk=1).update(status_generation=F("status_generation") + 1):
        RollupState.objects.get_or_create(pk=1, defaults={"status_generation": 2})


def _moment() -> datetime:
    return datetime.now(UTC)


def mark_stale(user_ids: Iterable[int]) -> None:
    """Something about these people changed: decide them again before trusting their rows.

    A person without a row (just created) gets one that says only that: out of
    date, so the next refresh decides them like anyone else. One ``INSERT ...
    SELECT ... ON CONFLICT`` a chunk (SQLite and PostgreSQL alike): sync marks a
    hundred thousand people, and an ORM upsert compiles every row. The chunk is
    one array parameter on PostgreSQL (``core.sql.one_of``).
    """
    now = _moment()
    table = RegistrationStatus._meta.db_table
    users = User._meta.db_table
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for chunk in batched(sorted(set(user_ids)), CHUNK):
            where, ids = one_of(User._meta.pk, chunk)
            cursor.execute(
                f"INSERT INTO {quote(table)} ({_PLACEHOLDER_COLUMNS}) "  # noqa: S608 - model names
                f"SELECT {quote('id')}, %s, %s, %s, '', 0, 0, 0, 0, 0, %s, 0, 0, 0, %s, %s "
                f"FROM {quote(users)} WHERE {where} "
                f"ON CONFLICT ({quote('user_id')}) DO UPDATE SET "
                f"{quote('stale_since')} = excluded.{quote('stale_since')}",
                [False, False, False, False, now, now, *ids],
            )


#: The columns of a row that only says "decide me": every decided field at its empty value.
_PLACEHOLDER_COLUMNS = (
    "user_id, enabled, registered, capable, reason, email, mobile_phone, office_phone, "
    "authenticator_app, security_questions, unproven, confirmed_apps, answers, generation, "
    "decided_at, stale_since"
)


def _status(user: User, capability: Capability, info: RegistrationSummary) -> RegistrationStatus:
    states = {
        m.kind.value: DataState.PROVEN if m.proven else DataState.UNPROVEN for m in info.methods
    }
    return RegistrationStatus(
        user=user,
        enabled=capability.enabled,
        registered=capability.registered,
        capable=capability.capable,
        reason=capability.reason.value if capability.reason else "",
        unproven=any(not m.proven for m in info.methods),
        confirmed_apps=info.confirmed_apps,
        answers=info.answers,
        confirmed_at=info.confirmed_at,
        **states,
    )


def decide_statuses(pks: Sequence[int], policy: SsprPolicy | None = None) -> int:
    """Decide the people ``pks`` now and store it; how many were decided."""
    started = _moment()
    generation = current_generation()  # before the policy: a change after it stays visible
    policy = policy or get_sspr_policy()
    decided = 0
    for chunk in batched(sorted(pks), CHUNK):
        users = users_with_registration_counts(User.objects.filter(pk__in=chunk).order_by("pk"))
        rows = []
        for user, (capability,) in iter_capabilities(users, (policy,)):
            row = _status(user, capability, summary_of_annotated(user, policy))
            row.generation, row.decided_at = generation, started
            rows.append(row)
        RegistrationStatus.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["user"], update_fields=_DECIDED
        )
        RegistrationStatus.objects.filter(user_id__in=chunk, stale_since__lt=started).update(
            stale_since=None
        )
        decided += len(rows)
    return decided


def _out_of_date(generation: int) -> QuerySet[RegistrationStatus]:
    return RegistrationStatus.objects.filter(
        Q(generation__lt=generation) | Q(stale_since__isnull=False)
    )


def stale_pks(limit: int) -> list[int]:
    """Up to ``limit`` people whose row is out of date.

    Everyone has a row: the migration gave existing people one, and a person
    gets one when created (``mark_stale``, from ``reports.receivers`` or sync's
    ``people_changed``; sync reports the people it created at the end of its
    run, once their groups are set, and the next run those of a run that died).
    Should one go missing anyway (rows written past the ORM), the registration
    count's pass decides everyone and makes it again.
    """
    return list(_out_of_date(current_generation()).values_list("user_id", flat=True)[:limit])


def count_stale() -> int:
    return _out_of_date(current_generation()).count()


def refresh_stale(limit: int = CHUNK) -> int:
    """The worker's turn: decide up to ``limit`` out-of-date people again."""
    pks = stale_pks(limit)
    return decide_statuses(pks) if pks else 0


def bring_up_to_date(limit: int | None = None) -> int:
    """Decide the out-of-date people now if at most ``limit``; how many remain out of date.

    After a policy change at a large organisation everyone is out of date: the
    worker decides them again over the next minutes, and a report meanwhile says
    how many of its rows are older than the change (``count_stale``).
    """
    limit = REFRESH_LIMIT if limit is None else limit
    pks = stale_pks(limit + 1)
    if len(pks) > limit:
        return count_stale()
    if pks:
        decide_statuses(pks)
    return 0


def count_statuses(rows: QuerySet[RegistrationStatus] | None = None) -> dict[str, int]:
    """The registration count's figures (``SNAPSHOT_COUNTERS``) over ``rows``, in one query."""
    rows = RegistrationStatus.objects.all() if rows is None else rows
    none = Q(**{kind.value: DataState.NONE for kind in DataKind})
    figures = {
        "users": Count("pk"),
        "enabled": Count("pk", filter=Q(enabled=True)),
        "registered": Count("pk", filter=Q(registered=True)),
        "capable": Count("pk", filter=Q(capable=True)),
        "never_registered": Count("pk", filter=none),
        **{
            kind.value: Count("pk", filter=Q(**{f"{kind.value}__gt": DataState.NONE}))
            for kind in DataKind
        },
    }
    return rows.aggregate(**{name: figures[name] for name in SNAPSHOT_COUNTERS})
