"""Console writes: save or delete an object and audit it in the same transaction.

ModelAdmin hooks call these instead of saving on their own (STYLE.md principle
1). The audit row names the changed fields; values are recorded only for models
whose admin declares them safe to show (policy objects, never user data).
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.db import models, transaction

from opensspr.accounts.models import User
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.core.request_meta import RequestMeta


def _label(obj: models.Model) -> str:
    return f"{obj._meta.label_lower}:{obj.pk}:{obj}"[:256]


def save_from_console(
    *,
    actor: User,
    obj: models.Model,
    is_new: bool,
    changed_fields: Iterable[str],
    meta: RequestMeta,
    save: Callable[[], None],
    values: dict[str, Any] | list[dict[str, Any]] | None = None,
) -> None:
    with transaction.atomic():
        save()
        record_event(
            activity=Activity.CONSOLE_OBJECT_CREATED if is_new else Activity.CONSOLE_OBJECT_CHANGED,
            outcome=Outcome.SUCCESS,
            meta=meta,
            actor=actor,
            target=obj if isinstance(obj, User) else None,
            target_label=_label(obj),
            details={
                "model": obj._meta.label_lower,
                "fields": sorted(changed_fields),
                **({"values": values} if values else {}),
            },
        )


def delete_from_console(*, actor: User, obj: models.Model, meta: RequestMeta) -> None:
    label = _label(obj)
    with transaction.atomic():
        obj.delete()
        record_event(
            activity=Activity.CONSOLE_OBJECT_DELETED,
            outcome=Outcome.SUCCESS,
            meta=meta,
            actor=actor,
            target_label=label,
            details={"model": obj._meta.label_lower},
        )
