"""Reads over the directory. Nothing here writes."""

from collections import deque

from django.conf import settings
from django.db.models import QuerySet

from opensspr.accounts.identifiers import identifier_key
from opensspr.accounts.models import ORGANISATION_KEY, Group, Organisation, RoleAssignment, User
from opensspr.accounts.roles import AdminRole
from opensspr.core.memo import remembered


def get_organisation() -> Organisation:
    """The organisation row (pk 1): once per request, shared across requests (``core/memo.py``)."""
    return remembered(ORGANISATION_KEY, _load_organisation, shared=True)


def _load_organisation() -> Organisation:
    found = Organisation.objects.filter(pk=1).first()
    return found or Organisation(pk=1, name=settings.OPENSSPR_ORGANISATION_NAME_DEFAULT)


def get_user_by_identifier(raw: str) -> User | None:
    """The user whose ID matches what a person typed, or None. One query."""
    key = identifier_key(raw)
    if not key:
        return None
    return User.objects.filter(user_id_key=key).first()


def list_administrators(roles: set[AdminRole] | None = None) -> QuerySet[User]:
    assignments = RoleAssignment.objects.all()
    if roles:
        assignments = assignments.filter(role__in=roles)
    return User.objects.filter(pk__in=assignments.values("user_id"), account_enabled=True)


def list_group_ids_of_user(user: User) -> set[int]:
    """Every group the user belongs to, directly or through nested groups."""
    direct = set(user.directory_groups.values_list("pk", flat=True))
    edges: dict[int, set[int]] = {}
    for child, parent in Group.member_groups.through.objects.values_list(
        "to_group_id", "from_group_id"
    ):
        edges.setdefault(child, set()).add(parent)
    seen = set(direct)
    queue = deque(direct)
    while queue:
        for parent in edges.get(queue.popleft(), ()):
            if parent not in seen:
                seen.add(parent)
                queue.append(parent)
    return seen


def is_member_of_group(user: User, group: Group) -> bool:
    return group.pk in list_group_ids_of_user(user)


def group_would_cycle(group: Group, candidate_children: list[Group]) -> bool:
    """Whether making ``candidate_children`` members of ``group`` creates a cycle."""
    edges: dict[int, set[int]] = {}
    for parent, child in Group.member_groups.through.objects.exclude(
        from_group_id=group.pk
    ).values_list("from_group_id", "to_group_id"):
        edges.setdefault(parent, set()).add(child)
    edges[group.pk] = {c.pk for c in candidate_children}
    stack, seen = list(edges[group.pk]), set()
    while stack:
        node = stack.pop()
        if node == group.pk:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(edges.get(node, ()))
    return False


def can_manage_user(actor: User, target: User) -> bool:
    """Whether ``actor`` may change ``target``'s data, password or lockout.

    Only global administrators act on administrator accounts (including their
    own roles): otherwise a helpdesk or user administrator could take over a
    global administrator by changing the phone or email that resets its
    password, or grant themselves a stronger role.
    """
    if not actor.is_staff:
        return False
    if actor.is_superuser:
        return True
    if target.is_administrator:
        return False
    return actor.has_perm("accounts.change_user")
