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
            values = {
                f: {
                    "old": _jsonable(form.initial.get(f)),
                    "new": _jsonable(form.cleaned_data.get(f)),
                }
                for f in changed
            }
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

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        delete_from_console(actor=_actor(request), obj=obj, meta=request_meta(request))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
