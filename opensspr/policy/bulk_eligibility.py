"""Eligibility for many people at once: the report's and the impact preview's read path.

``eligibility_for`` costs a handful of queries per person (roles, apps,
answers, nested groups, perhaps a directory health check): fine for one
person at the reset portal, minutes for an organisation of 50,000. Here the
same ``StoredFacts`` are read for a batch of people with a fixed number of
queries, the group tree is walked once per call, each directory connector is
asked for its health once per call, and every decision is made by the same
``reset_selectors.decide``. Several policies (the current one and a candidate)
can be decided over one read.

Invariant: for any user and policy, the decision here equals
``eligibility_for(user, policy)`` (tests/policy/test_bulk_eligibility.py).
"""

from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from itertools import batched

from django.db.models import Count

from opensspr.accounts.models import Group, RoleAssignment, User
from opensspr.methods.models import AuthenticatorApp, SecurityAnswer
from opensspr.policy.eligibility import Decision, Writeback
from opensspr.policy.models import SsprPolicy
from opensspr.policy.reset_selectors import StoredFacts, WritebackProbe, decide

#: People read per round of queries: well under SQLite's limit on query parameters.
CHUNK_SIZE = 2000


def list_eligibility(
    users: Iterable[User], policy: SsprPolicy, *, writeback: Writeback | None = None
) -> dict[int, Decision]:
    """Each user's decision under ``policy``, by primary key.

    A fixed number of queries per ``CHUNK_SIZE`` users. ``writeback`` replaces
    the directory's health check (see ``eligibility_for``).
    """
    return {
        user.pk: decisions[0]
        for user, decisions in iter_eligibility(users, (policy,), writeback=writeback)
    }


def iter_eligibility(
    users: Iterable[User],
    policies: Sequence[SsprPolicy],
    *,
    writeback: Writeback | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[tuple[User, tuple[Decision, ...]]]:
    """Each user with one decision per policy, in the order ``users`` come.

    Facts are read once per chunk whatever the number of policies, so an
    impact preview (before and after) reads the directory once.
    """
    reader = _FactReader(policies)
    probe = WritebackProbe()
    for chunk in batched(users, chunk_size):
        stored = reader.read(chunk)
        for user in chunk:
            facts = stored[user.pk]
            yield (
                user,
                tuple(decide(user, facts, p, probe=probe, writeback=writeback) for p in policies),
            )


class _FactReader:
    """Reads ``StoredFacts`` for chunks of users: three queries a chunk, two per call."""

    def __init__(self, policies: Sequence[SsprPolicy]) -> None:
        selected = {p.group_id for p in policies if p.group_id is not None}
        # policy group -> every group inside it, nested included (itself too).
        self._inside = _groups_inside(selected) if selected else {}
        self._roles: dict[int, set[str]] | None = None  # read on first use, once per call

    def read(self, users: Sequence[User]) -> dict[int, StoredFacts]:
        pks = [user.pk for user in users]
        if self._roles is None:
            self._roles = _roles_by_user()
        roles = self._roles
        apps = set(
            AuthenticatorApp.objects.filter(user_id__in=pks, confirmed_at__isnull=False)
            .values_list("user_id", flat=True)
            .distinct()
        )
        answers = dict(
            SecurityAnswer.objects.filter(user_id__in=pks)
            .values("user_id")
            .annotate(n=Count("pk"))
            .values_list("user_id", "n")
        )
        groups = self._policy_groups_by_user(pks)
        facts = {}
        for user in users:
            # A role set already on the user wins, as ``is_administrator`` does.
            if getattr(user, "_roles_cache", None) is None:
                user._roles_cache = set(roles.get(user.pk, ()))
            facts[user.pk] = StoredFacts(
                is_admin=user.is_administrator,
                has_confirmed_app=user.pk in apps,
                answers=answers.get(user.pk, 0),
                group_ids=frozenset(groups.get(user.pk, ())),
            )
        return facts

    def _policy_groups_by_user(self, pks: list[int]) -> dict[int, set[int]]:
        if not self._inside:
            return {}
        holders: dict[int, set[int]] = defaultdict(set)  # any group -> policy groups holding it
        for policy_group, inside in self._inside.items():
            for group in inside:
                holders[group].add(policy_group)
        found: dict[int, set[int]] = defaultdict(set)
        rows = Group.members.through.objects.filter(user_id__in=pks, group_id__in=list(holders))
        for user_id, group_id in rows.values_list("user_id", "group_id"):
            found[user_id] |= holders[group_id]
        return found


def _roles_by_user() -> dict[int, set[str]]:
    """Every role assignment. Administrators are few: one small read beats one per chunk."""
    roles: dict[int, set[str]] = defaultdict(set)
    for user_id, role in RoleAssignment.objects.values_list("user_id", "role"):
        roles[user_id].add(role)
    return roles


def _groups_inside(roots: set[int]) -> dict[int, set[int]]:
    """For each root group, itself and every group nested in it. One query."""
    children: dict[int, set[int]] = defaultdict(set)
    for parent, child in Group.member_groups.through.objects.values_list(
        "from_group_id", "to_group_id"
    ):
        children[parent].add(child)
    inside: dict[int, set[int]] = {}
    for root in roots:
        seen, queue = {root}, deque([root])
        while queue:
            for child in children.get(queue.popleft(), ()):
                if child not in seen:
                    seen.add(child)
                    queue.append(child)
        inside[root] = seen
    return inside
