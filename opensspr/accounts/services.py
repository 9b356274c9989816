"""Writes to the directory. Each service validates, writes and audits in one transaction."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from opensspr.accounts.identifiers import identifier_key
from opensspr.accounts.models import (
    Group,
    GuestKind,
    Organisation,
    RoleAssignment,
    User,
    UserSource,
    UserType,
)
from opensspr.accounts.phones import normalise_phone
from opensspr.accounts.roles import AdminRole
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta


@dataclass(frozen=True)
class UserData:
    """Everything a new directory user can be created with (the CSV columns too)."""

    user_id: str
    display_name: str
    given_name: str = ""
    surname: str = ""
    email: str = ""
    auth_email: str = ""
    mobile_phone: str = ""
    office_phone: str = ""
    source: str = UserSource.CLOUD
    on_premises_dn: str = ""
    user_type: str = UserType.MEMBER
    guest_kind: str = GuestKind.NONE
    account_enabled: bool = True
    sspr_licensed: bool = True
    password_never_expires: bool = False
    groups: tuple[str, ...] = ()
    roles: tuple[str, ...] = field(default=())


def _phone(field_name: str, raw: str, errors: dict[str, list[str]]) -> str:
    try:
        return normalise_phone(raw)
    except ValidationError as exc:
        errors.setdefault(field_name, []).extend(exc.messages)
        return raw


def build_user(data: UserData) -> User:
    """An unsaved, fully validated ``User``; raises ``ValidationError`` with every problem."""
    errors: dict[str, list[str]] = {}
    user = User(
        user_id=data.user_id.strip(),
        display_name=data.display_name.strip(),
        given_name=data.given_name.strip(),
        surname=data.surname.strip(),
        email=data.email.strip(),
        auth_email=data.auth_email.strip(),
        mobile_phone=_phone("mobile_phone", data.mobile_phone, errors),
        office_phone=_phone("office_phone", data.office_phone, errors),
        source=data.source,
        on_premises_dn=data.on_premises_dn.strip(),
        user_type=data.user_type,
        guest_kind=data.guest_kind,
        account_enabled=data.account_enabled,
        sspr_licensed=data.sspr_licensed,
        password_never_expires=data.password_never_expires,
    )
    user.set_unusable_password()
    if data.source != UserSource.CLOUD or data.on_premises_dn.strip():
        # A DN is where a reset writes a password: only directory sync sets it.
        errors["source"] = [_("Only directory sync creates synchronised users.")]
    try:
        # Uniqueness is checked below on the normalised key, with one clear message.
        user.full_clean(exclude=["password", "user_id_key", *errors], validate_unique=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if User.objects.filter(user_id_key=identifier_key(user.user_id)).exists():
        errors.setdefault("user_id", []).append(_("A user with this user ID already exists."))
    known_groups = set(Group.objects.filter(name__in=data.groups).values_list("name", flat=True))
    if unknown_groups := sorted(set(data.groups) - known_groups):
        errors["groups"] = [_("Unknown group: %(name)s") % {"name": n} for n in unknown_groups]
    unknown_roles = sorted(set(data.roles) - set(AdminRole.values))
    if unknown_roles:
        errors["roles"] = [
            _("Unknown administrator role: %(role)s") % {"role": r} for r in unknown_roles
        ]
    if errors:
        raise ValidationError(errors)
    return user


@transaction.atomic
def create_user(
    *, data: UserData, meta: RequestMeta, actor: User | None = None, password: str | None = None
) -> User:
    """Create a directory user with groups and roles.

    ``password`` is only for seeding (demo, tests): it is hashed by the built-in
    directory and never stored or audited in clear. Imported users get no usable
    password and set one through reset, or an administrator issues a temporary one.
    """
    user = build_user(data)
    if password is not None:
        user.set_password(password)
        user.password_last_set = clock.now()
    user.save()
    user.directory_groups.set(Group.objects.filter(name__in=data.groups))
    RoleAssignment.objects.bulk_create([RoleAssignment(user=user, role=r) for r in data.roles])
    record_event(
        activity=Activity.DIRECTORY_USER_CREATED,
        outcome=Outcome.SUCCESS,
        meta=meta,
        actor=actor,
        target=user,
        details={"source": user.source, "groups": sorted(data.groups), "roles": sorted(data.roles)},
    )
    return user


@transaction.atomic
def create_group(
    *,
    name: str,
    meta: RequestMeta,
    description: str = "",
    member_groups: Iterable[str] = (),
    actor: User | None = None,
) -> Group:
    group = Group(name=name.strip(), description=description)
    group.full_clean()
    group.save()
    group.member_groups.set(Group.objects.filter(name__in=list(member_groups)))
    record_event(
        activity=Activity.DIRECTORY_GROUP_CREATED,
        outcome=Outcome.SUCCESS,
        meta=meta,
        actor=actor,
        target_label=group.name,
    )
    return group


@transaction.atomic
def rename_organisation(*, name: str, meta: RequestMeta, actor: User | None = None) -> None:
    org, _created = Organisation.objects.update_or_create(pk=1, defaults={"name": name.strip()})
    record_event(
        activity=Activity.DIRECTORY_ORGANISATION_CHANGED,
        outcome=Outcome.SUCCESS,
        meta=meta,
        actor=actor,
        details={"name": org.name},
    )
