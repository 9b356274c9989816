"""ModelAdmin base that routes every save and delete through the console service."""

from typing import Any

from django.contrib import admin
from django.db import models
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.text import capfirst

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


class SingletonAdmin(AuditedModelAdmin):
    """A settings model with one row: its page, never a list of one.

    The side bar's link opens the row (or, the first time, the form that
    creates it); there is nothing to add once it exists and nothing to delete.
    ``title`` names the page, instead of Django's "Change <model>", once: no
    subtitle repeating the row's name, and a trail that ends at the page.
    """

    title: Any = None
    change_form_template = "console/singleton_change_form.html"

    def _row_pk(self) -> int | None:
        return self.model._default_manager.order_by("pk").values_list("pk", flat=True).first()

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        opts = self.model._meta
        pk = self._row_pk()
        if pk is not None and self.has_view_or_change_permission(request):
            return redirect(f"console:{opts.app_label}_{opts.model_name}_change", pk)
        if pk is None and self.has_add_permission(request):
            return redirect(f"console:{opts.app_label}_{opts.model_name}_add")
        return super().changelist_view(request, extra_context)  # refused as usual

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        title = self.title or capfirst(self.model._meta.verbose_name)
        extra_context = {**(extra_context or {}), "title": title, "subtitle": None}
        extra_context["show_save_and_add_another"] = False
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        if not change:
            obj.pk = self._row_pk() or 1  # the one row, whoever saves first
        super().save_model(request, obj, form, change)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._row_pk() is None and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
