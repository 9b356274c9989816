"""ModelAdmin base that routes every save and delete through the console service."""

from typing import Any

from django.contrib import admin
from django.db import models
from django.forms import ModelForm
from django.http import HttpRequest

from opensspr.accounts.models import User
from opensspr.console.services import delete_from_console, save_from_console
from opensspr.core.request_meta import request_meta


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # the console admits only directory users
    return request.user


class AuditedModelAdmin(admin.ModelAdmin):
    #: Record old -> new values of changed fields (only for non-personal, non-secret data).
    audit_values = False

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        changed = list(form.changed_data)
        values = None
        if self.audit_values and change:
            # A list, not a dict keyed by field name: field names such as
            # "allow_app_code" are schema, not secrets, and must not trip the
            # audit's secret-key guard. Only admins of secret-free models opt in.
            values = [
                {
                    "field": f,
                    "old": _jsonable(form.initial.get(f)),
                    "new": _jsonable(form.cleaned_data.get(f)),
                }
                for f in changed
            ]
        # m2m fields are saved by save_related; the audit row still names them.
        save_from_console(
            actor=_actor(request),
            obj=obj,
            is_new=not change,
            changed_fields=changed,
            meta=request_meta(request),
            save=obj.save,
            values=values,
        )

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: Any, change: bool
    ) -> None:
        """Inline rows (role assignments) are saved and audited like the parent object."""
        if not formset.has_changed():
            formset.save()
            return
        saved: dict[str, list[str]] = {}

        def save() -> None:
            formset.save()
            saved["added"] = [str(o) for o in formset.new_objects]
            saved["changed"] = [str(o) for o, _fields in formset.changed_objects]
            saved["deleted"] = [str(o) for o in formset.deleted_objects]

        save_from_console(
            actor=_actor(request),
            obj=form.instance,
            is_new=False,
            changed_fields=[formset.model._meta.label_lower],
            meta=request_meta(request),
            save=save,
            values=saved,
        )

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        delete_from_console(actor=_actor(request), obj=obj, meta=request_meta(request))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
