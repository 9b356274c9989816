"""Facts for the eligibility engine, read from the directory and registrations.

Kept apart from ``selectors.py`` (password policy) so each module owns one
concept; nothing here writes.

Reading is split from assembling: ``eligibility_for`` reads one person's
``StoredFacts`` with a few queries, ``bulk_eligibility`` reads many people's
with a fixed number, and both hand them to ``decide``. The report, the impact
preview and the reset portal therefore can't disagree about what counts as a
registered method or a member of the selected group.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import BooleanField, IntegerField, Model, QuerySet
from django.db.models.expressions import RawSQL

from opensspr.accounts.models import GuestKind, RoleAssignment, User, UserSource
from opensspr.accounts.selectors import is_member_of_group
from opensspr.core.memo import remembered
from opensspr.directory import connector_for
from opensspr.directory.base import DirectoryConnector, DirectoryError, HealthState
from opensspr.methods.models import AuthenticatorApp, SecurityAnswer
from opensspr.policy.eligibility import (
    Decision,
    PolicyFacts,
    Scope,
    UserFacts,
    Writeback,
    evaluate,
)
from opensspr.policy.kinds import MethodKind, RegisteredMethod
from opensspr.policy.models import SSPR_POLICY_KEY, SsprPolicy

_ALLOW_FIELDS = {
    MethodKind.EMAIL: "allow_email",
    MethodKind.MOBILE_SMS: "allow_mobile_sms",
    MethodKind.MOBILE_VOICE: "allow_mobile_voice",
    MethodKind.OFFICE_VOICE: "allow_office_voice",
    MethodKind.APP_CODE: "allow_app_code",
    MethodKind.APP_NOTIFICATION: "allow_app_notification",
    MethodKind.SECURITY_QUESTIONS: "allow_security_questions",
}


@dataclass(frozen=True)
class StoredFacts:
    """What the database holds about a person beyond their own row.

    ``group_ids`` lists the policy groups the person belongs to, directly or
    through nested groups; groups no policy selects may be left out.
    """

    is_admin: bool
    has_confirmed_app: bool
    answers: int  # every stored answer counts: a deleted question takes its answers along
    group_ids: frozenset[int] = frozenset()


def get_sspr_policy() -> SsprPolicy:
    """The policy row (pk 1): once per request, shared across requests (``core/memo.py``)."""
    return remembered(SSPR_POLICY_KEY, _load_sspr_policy, shared=True)


def _load_sspr_policy() -> SsprPolicy:
    return SsprPolicy.objects.select_related("group").filter(pk=1).first() or SsprPolicy(pk=1)


def allowed_kinds(policy: SsprPolicy) -> frozenset[MethodKind]:
    return frozenset(kind for kind, name in _ALLOW_FIELDS.items() if getattr(policy, name))


def registered_methods(
    user: User, stored: StoredFacts, policy: SsprPolicy
) -> tuple[RegisteredMethod, ...]:
    """Every method ``user`` has data for, proven or set by an administrator (§8.3)."""
    found: list[RegisteredMethod] = []
    if email := user.reset_email:
        found.append(RegisteredMethod(MethodKind.EMAIL, f"email:{email.casefold()}"))
    if user.mobile_phone:
        channel = f"phone:{user.mobile_phone}"
        found += [
            RegisteredMethod(MethodKind.MOBILE_SMS, channel),
            RegisteredMethod(MethodKind.MOBILE_VOICE, channel),
        ]
    if user.office_phone:
        found.append(RegisteredMethod(MethodKind.OFFICE_VOICE, f"phone:{user.office_phone}"))
    if stored.has_confirmed_app:
        found.append(RegisteredMethod(MethodKind.APP_CODE, "app"))
    if stored.answers >= policy.questions_to_register:
        found.append(RegisteredMethod(MethodKind.SECURITY_QUESTIONS, "questions"))
    return tuple(found)


#: The names ``stored_facts_annotations`` gives its columns.
FACT_COLUMNS = ("fact_admin", "fact_app", "fact_answers")


def _sql(model: type[Model], column: str = "") -> str:
    """A model's quoted table name, or one of its columns."""
    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    return f"{table}.{q(column)}" if column else table


def stored_facts_annotations(table: str = "", column: str = "") -> dict[str, Any]:
    """Roles, a confirmed app and the number of answers of the person whose id is in
    ``table``.``column`` of the outer query (default: the user's own row), as
    annotations: a query that reads a row holding that person reads them too.

    Written as SQL, not as ORM subqueries: Django took about 2 ms of CPU to build and
    compile the three subqueries, on every reset step; these take nothing. Only quoted
    names of our own models go into the text, never a value.
    """
    q = connection.ops.quote_name
    outer = f"{q(table)}.{q(column)}" if table else _sql(User, "id")
    roles, apps, answers = RoleAssignment, AuthenticatorApp, SecurityAnswer
    exists_role = f"EXISTS(SELECT 1 FROM {_sql(roles)} WHERE {_sql(roles, 'user_id')} = {outer})"  # noqa: S608  # quoted names only
    exists_app = (
        f"EXISTS(SELECT 1 FROM {_sql(apps)} WHERE {_sql(apps, 'user_id')} = {outer} "  # noqa: S608  # quoted names only
        f"AND {_sql(apps, 'confirmed_at')} IS NOT NULL)"
    )
    count_answers = (
        f"(SELECT COUNT(*) FROM {_sql(answers)} WHERE {_sql(answers, 'user_id')} = {outer})"  # noqa: S608  # quoted names only
    )
    return {
        "fact_admin": RawSQL(exists_role, (), output_field=BooleanField()),  # noqa: S611  # no values
        "fact_app": RawSQL(exists_app, (), output_field=BooleanField()),  # noqa: S611  # no values
        "fact_answers": RawSQL(count_answers, (), output_field=IntegerField()),  # noqa: S611  # no values
    }


def keep_stored_facts(user: User, row: Mapping[str, Any]) -> None:
    """Remember facts read with ``stored_facts_annotations`` on ``user``, the object of
    this request: ``get_stored_facts`` (and ``is_administrator``) then ask nothing more."""
    user._stored_facts_row = {name: row[name] for name in FACT_COLUMNS}  # type: ignore[attr-defined]
    if not row["fact_admin"]:
        user._roles_cache = set()  # no roles: nothing to read


def person_with_facts(key: str, **also: Any) -> QuerySet[User]:
    """The person whose identifier key is ``key``, their stored facts read in the same
    query (``keep_stored_facts``): starting a reset decides on them at once.

    ``also``: more annotations for that query (the start asks whether the network is
    familiar), read back as the user's attributes of those names. A queryset, so the
    start can prepare it once (``core/prepared.py``).
    """
    return User.objects.filter(user_id_key=key).annotate(**stored_facts_annotations(), **also)[:1]


def get_stored_facts(user: User, policy: SsprPolicy) -> StoredFacts:
    """One person's ``StoredFacts`` in one query; group membership only if the policy has one.

    Every reset step looks at the person again (``recheck``), so this runs once per
    step: roles, a confirmed app and the number of answers come back as one row, or
    with the row that loaded the person (``keep_stored_facts``: the reset flow's).
    """
    group = policy.group
    in_group = group is not None and is_member_of_group(user, group)
    row = (
        getattr(user, "_stored_facts_row", None)
        or (
            User.objects.filter(pk=user.pk)
            .annotate(**stored_facts_annotations())
            .values(*FACT_COLUMNS)
            .first()
        )
        or {"fact_admin": False, "fact_app": False, "fact_answers": 0}
    )
    cached_roles = getattr(user, "_roles_cache", None)  # roles already read win, as in bulk
    return StoredFacts(
        is_admin=bool(cached_roles) if cached_roles is not None else bool(row["fact_admin"]),
        has_confirmed_app=bool(row["fact_app"]),
        answers=int(row["fact_answers"]),
        group_ids=frozenset({group.pk}) if group is not None and in_group else frozenset(),
    )


def list_registered_methods(user: User, policy: SsprPolicy) -> tuple[RegisteredMethod, ...]:
    return registered_methods(user, get_stored_facts(user, policy), policy)


class WritebackProbe:
    """Where a synced person's password would be written, asking each connector only once.

    A health check reaches an on-premises directory over the network: a report
    over thousands of synced people must not make thousands of them. One probe
    lives for one read (a request, a report), so an outage is seen by the next.
    """

    def __init__(self) -> None:
        self._seen: dict[int, Writeback] = {}

    def state(self, user: User) -> Writeback:
        if user.source == UserSource.CLOUD:
            return Writeback.NOT_NEEDED
        try:
            connector = connector_for(user)
        except DirectoryError:
            return Writeback.UNREACHABLE
        key = id(connector)
        if key not in self._seen:
            self._seen[key] = _health_of(connector)
        return self._seen[key]


def _health_of(connector: DirectoryConnector) -> Writeback:
    try:
        health = connector.check_health()
    except DirectoryError:
        return Writeback.UNREACHABLE
    return Writeback.AVAILABLE if health.state == HealthState.HEALTHY else Writeback.UNREACHABLE


def writeback_state(user: User) -> Writeback:
    return WritebackProbe().state(user)


def policy_facts(policy: SsprPolicy, *, in_group: bool) -> PolicyFacts:
    return PolicyFacts(
        scope=Scope(policy.scope),
        in_scope_group=in_group,
        methods_required=policy.methods_required,
        allowed=allowed_kinds(policy),
        admins_may_reset=policy.admins_may_reset,
        writeback_enabled=policy.writeback_enabled,
    )


def decide(
    user: User,
    stored: StoredFacts,
    policy: SsprPolicy,
    *,
    probe: WritebackProbe,
    writeback: Writeback | None = None,
) -> Decision:
    """The decision for a known ``user`` from facts already read; the one place they meet.

    The directory is asked (through ``probe``) only for a synced person while
    writeback is on, and not at all when the caller gives ``writeback``.
    """
    in_group = policy.group_id is not None and policy.group_id in stored.group_ids
    person = UserFacts(
        exists=True,
        is_admin=stored.is_admin,
        enabled=user.account_enabled,
        licensed=user.sspr_licensed,
        personal_account_guest=user.guest_kind == GuestKind.PERSONAL_ACCOUNT,
        synced=user.source == UserSource.SYNCED,
        registered=registered_methods(user, stored, policy),
    )
    state = Writeback.NOT_NEEDED
    if person.synced and policy.writeback_enabled:
        state = writeback if writeback is not None else probe.state(user)
    return evaluate(policy_facts(policy, in_group=in_group), person, state)


def eligibility_for(
    user: User | None, policy: SsprPolicy | None = None, *, writeback: Writeback | None = None
) -> Decision:
    """The full decision for ``user`` (None: an unknown user ID) under the current policy.

    ``writeback`` replaces the directory's health check for callers that ignore
    it (the registration report): leave it out to ask the directory.
    """
    policy = policy or get_sspr_policy()
    if user is None:
        facts = policy_facts(policy, in_group=False)
        return evaluate(facts, UserFacts(exists=False), Writeback.NOT_NEEDED)
    stored = get_stored_facts(user, policy)
    return decide(user, stored, policy, probe=WritebackProbe(), writeback=writeback)
