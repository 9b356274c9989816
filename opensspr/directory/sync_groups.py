"""The groups half of a sync run, and administrator roles from directory groups.

A synced group is linked to its entry by ``SyncedGroup`` (DN). Its direct
members are set from the entry's member attribute: members that are synced
users become ``Group.members``, members that are synced groups become
``Group.member_groups`` (nesting; membership is transitive, as for every
group here). Only synced groups are touched; a cloud group with the same name
is reported, not taken over. A group gone from the directory (full run) is
emptied rather than deleted, so policies that name it stay valid.

Roles: when role mappings exist, the directory decides the roles of synced
users (``accounts.roles``: "the directory, not the console, decides who is an
administrator"); each change is audited on the user.
"""

from collections import deque
from collections.abc import Iterable, Set
from dataclasses import dataclass, field

from django.db import models, transaction

from opensspr.accounts.models import Group, RoleAssignment, User, UserSource
from opensspr.accounts.signals import people_changed
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.core.request_meta import RequestMeta
from opensspr.directory.ldap.records import Entry
from opensspr.directory.mapping import AttributeMap, MappedGroup, MappingError, map_group
from opensspr.directory.models import RoleMapping, SyncedGroup
from opensspr.directory.sync_users import EntryError, column_of, write_rows

Members = Group.members.through
Nesting = Group.member_groups.through


@dataclass
class GroupCounts:
    read: int = 0
    created: int = 0
    updated: int = 0
    emptied: int = 0
    roles_granted: int = 0
    roles_removed: int = 0
    errors: list[EntryError] = field(default_factory=list)


def _upsert(
    mapped: MappedGroup, linked: dict[str, SyncedGroup], counts: GroupCounts
) -> tuple[int, bool]:
    key = mapped.dn.lower()
    link = linked.get(key)
    clash = Group.objects.filter(name=mapped.name)
    if link is not None:
        clash = clash.exclude(pk=link.group_id)
    if clash.exists():
        raise MappingError(f"a group named {mapped.name!r} already exists here; not taken over")
    if link is None:
        group = Group.objects.create(name=mapped.name)
        linked[key] = SyncedGroup.objects.create(group=group, dn=mapped.dn, dn_key=key)
        counts.created += 1
        return group.pk, True
    if link.group.name != mapped.name or link.dn != mapped.dn:
        Group.objects.filter(pk=link.group_id).update(name=mapped.name)
        SyncedGroup.objects.filter(pk=link.pk).update(dn=mapped.dn)
        counts.updated += 1
        return link.group_id, True
    return link.group_id, False


def _set_members(
    through: type[models.Model], owner: str, other: str, group_pk: int, wanted: set[int]
) -> set[int]:
    """Make ``wanted`` the group's members of one kind; returns those that came or went."""
    have = set(through._default_manager.filter(**{owner: group_pk}).values_list(other, flat=True))
    if have == wanted:
        return set()
    through._default_manager.filter(**{owner: group_pk, f"{other}__in": have - wanted}).delete()
    added = wanted - have
    if added:  # not bulk_create: it compiles each row (a 100,000-member group)
        columns = [column_of(through, n) for n in (owner, other)]
        write_rows(through._meta.db_table, columns, [[group_pk, o] for o in added])
    return have ^ wanted


def _set_group(
    group_pk: int, users: set[int], children: set[int], reported_later: Set[int]
) -> bool:
    """Set a group's member users and groups; whether anything changed.

    Batched writes send no model signals: ``people_changed`` names who moved
    (but for ``reported_later``, this run's new people: ``UserSync.mark_created``),
    or everyone when the nesting changed (a person's groups then change through it).
    """
    with transaction.atomic():
        moved = _set_members(Members, "group_id", "user_id", group_pk, users)
        nested = _set_members(Nesting, "from_group_id", "to_group_id", group_pk, children)
        if report := moved - reported_later:
            people_changed.send(sender=Group, user_ids=report)
        if nested:
            people_changed.send(sender=Group, user_ids=None)
    return bool(moved or nested)


def sync_groups(
    entries: Iterable[Entry],
    *,
    amap: AttributeMap,
    users_by_dn: dict[str, int],
    full: bool,
    reported_later: Set[int] = frozenset(),
) -> GroupCounts:
    """Create or rename the groups read, then set their direct members and nesting."""
    counts = GroupCounts()
    linked = {g.dn_key: g for g in SyncedGroup.objects.select_related("group")}
    read: list[tuple[int, MappedGroup]] = []
    counted: set[int] = set()  # created or renamed: already counted
    for entry in entries:
        counts.read += 1
        try:
            mapped = map_group(entry.dn, entry.attributes, amap)
            with transaction.atomic():
                group_pk, written = _upsert(mapped, linked, counts)
            read.append((group_pk, mapped))
            if written:
                counted.add(group_pk)
        except MappingError as exc:
            counts.errors.append(EntryError(entry.dn, (str(exc),)))
    groups_by_dn = {key: link.group_id for key, link in linked.items()}
    for group_pk, mapped in read:
        member_keys = {dn.lower() for dn in mapped.member_dns}
        users = {users_by_dn[k] for k in member_keys if k in users_by_dn}
        children = {groups_by_dn[k] for k in member_keys if k in groups_by_dn} - {group_pk}
        changed = _set_group(group_pk, users, children, reported_later)
        if changed and group_pk not in counted:
            counts.updated += 1
    if full:
        seen = {pk for pk, _mapped in read}
        for group_pk in set(groups_by_dn.values()) - seen:
            counts.emptied += int(_set_group(group_pk, set(), set(), reported_later))
    return counts


def _descendants(roots: set[int]) -> set[int]:
    edges: dict[int, set[int]] = {}
    for parent, child in Nesting.objects.values_list("from_group_id", "to_group_id"):
        edges.setdefault(parent, set()).add(child)
    seen, queue = set(roots), deque(roots)
    while queue:
        for child in edges.get(queue.popleft(), ()):
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return seen


def sync_roles(
    *, meta: RequestMeta, counts: GroupCounts, reported_later: Set[int] = frozenset()
) -> None:
    """Give synced users exactly the roles their directory groups map to (if any are mapped)."""
    mappings = list(RoleMapping.objects.values_list("group_dn", "role"))
    if not mappings:
        return
    links = dict(SyncedGroup.objects.values_list("dn_key", "group_id"))
    wanted: set[tuple[int, str]] = set()
    for dn, role in mappings:
        if (group_pk := links.get(dn.lower())) is None:
            continue
        groups = _descendants({group_pk})
        members = Members.objects.filter(group_id__in=groups).values_list("user_id", flat=True)
        wanted |= {(user_pk, role) for user_pk in set(members)}
    synced = User.objects.filter(source=UserSource.SYNCED)
    have = set(RoleAssignment.objects.filter(user__in=synced).values_list("user_id", "role"))
    grants, removals = wanted - have, have - wanted
    touched = {u for u, _r in grants | removals}
    for user in User.objects.filter(pk__in=touched):
        granted = sorted(r for u, r in grants if u == user.pk)
        removed = sorted(r for u, r in removals if u == user.pk)
        with transaction.atomic():
            RoleAssignment.objects.filter(user=user, role__in=removed).delete()
            RoleAssignment.objects.bulk_create([RoleAssignment(user=user, role=r) for r in granted])
            if user.pk not in reported_later:
                people_changed.send(sender=RoleAssignment, user_ids=[user.pk])
            record_event(
                activity=Activity.DIRECTORY_SYNC_ROLES_CHANGED,
                outcome=Outcome.SUCCESS,
                meta=meta,
                target=user,
                details={"granted": granted, "removed": removed},
            )
        counts.roles_granted += len(granted)
        counts.roles_removed += len(removed)
