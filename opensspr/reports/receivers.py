"""Who to decide again, from what changed: model signals and ``people_changed``.

Connected in ``ReportsConfig.ready``. Each receiver only marks rows out of date
(``reports.status``), one small UPDATE; the deciding happens later, in bulk.
"""

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save

from opensspr.accounts.models import Group, RoleAssignment, User
from opensspr.accounts.signals import people_changed
from opensspr.methods.models import AuthenticatorApp, SecurityAnswer
from opensspr.policy.models import SsprPolicy
from opensspr.registration.models import RegistrationState
from opensspr.reports.status import bump_generation, mark_stale

#: The user fields the eligibility engine or the registration summary read.
DECIDING_FIELDS = frozenset(
    {
        "account_enabled",
        "sspr_licensed",
        "user_type",
        "guest_kind",
        "source",
        "email",  # a guest's own primary address
        "auth_email",
        "mobile_phone",
        "office_phone",
    }
)


def _user_saved(instance: User, created: bool, update_fields: Any, **_: Any) -> None:
    if created or update_fields is None or DECIDING_FIELDS.intersection(update_fields):
        mark_stale([instance.pk])


def _owned_changed(instance: Any, **_: Any) -> None:
    mark_stale([instance.user_id])


def _membership_changed(
    instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **_: Any
) -> None:
    if reverse:  # user.directory_groups.add(...): one person
        if action in {"post_add", "post_remove", "pre_clear"}:
            mark_stale([instance.pk])
    elif action in {"post_add", "post_remove"} and pk_set:
        mark_stale(pk_set)
    elif action == "pre_clear":  # the members are still there to be named
        mark_stale(instance.members.values_list("pk", flat=True))


def _everyone(**_: Any) -> None:
    bump_generation()


def _nesting_changed(action: str, **_: Any) -> None:
    if action in {"post_add", "post_remove", "post_clear"}:
        bump_generation()


def _people_changed(user_ids: Any = None, **_: Any) -> None:
    if user_ids is None:
        bump_generation()
    else:
        mark_stale(user_ids)


def connect() -> None:
    uid = "reports.status"
    post_save.connect(_user_saved, sender=User, dispatch_uid=f"{uid}.user")
    for model in (RegistrationState, AuthenticatorApp, SecurityAnswer, RoleAssignment):
        for signal in (post_save, post_delete):
            signal.connect(_owned_changed, sender=model, dispatch_uid=f"{uid}.{model.__name__}")
    m2m_changed.connect(
        _membership_changed, sender=Group.members.through, dispatch_uid=f"{uid}.members"
    )
    m2m_changed.connect(
        _nesting_changed, sender=Group.member_groups.through, dispatch_uid=f"{uid}.nesting"
    )
    post_delete.connect(_everyone, sender=Group, dispatch_uid=f"{uid}.group")
    post_save.connect(_everyone, sender=SsprPolicy, dispatch_uid=f"{uid}.policy")
    people_changed.connect(_people_changed, dispatch_uid=f"{uid}.people")
