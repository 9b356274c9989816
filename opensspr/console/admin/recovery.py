"""The helpdesk's recovery queue, and the temporary access pass policy.

The queue lists the requests of people who lost every method (open and in
progress by default; done on request). A request's page is where the helpdesk
works it: take it, record how the identity was confirmed (checks and a note),
issue a temporary access pass (shown once), or close it without one. Every
step goes through ``resets.recovery``, which checks the role rule and audits.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from opensspr.accounts.authority import HelpdeskAction, may_act
from opensspr.console.admin.helpdesk import IssuePassForm, describe_pass
from opensspr.console.admin_base import AuditedModelAdmin, _actor
from opensspr.console.site import console_site
from opensspr.core.request_meta import request_meta
from opensspr.registration.access_passes import get_access_pass_policy
from opensspr.registration.models import AccessPassPolicy
from opensspr.resets import recovery
from opensspr.resets.models import RecoveryOutcome, RecoveryRequest, RecoveryState


class ConfirmIdentityForm(forms.Form):
    checks = forms.MultipleChoiceField(
        label=_("What you checked"),
        choices=list(recovery.CHECKLIST.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(
        label=_("How you confirmed it's them"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: called back on the number in the HR record at 10:15."),
    )


class StateFilter(admin.SimpleListFilter):
    """Unfinished requests by default: the queue is what still needs someone."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [*RecoveryState.choices, ("all", _("All"))]

    def choices(self, changelist: Any) -> Any:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": _("Open and in progress"),
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": (self.value() or "") == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[RecoveryRequest]
    ) -> QuerySet[RecoveryRequest]:
        value = self.value()
        if value == "all":
            return queryset
        if value in RecoveryState.values:
            return queryset.filter(state=value)
        return queryset.exclude(state=RecoveryState.DONE)


@admin.register(RecoveryRequest, site=console_site)
class RecoveryRequestAdmin(admin.ModelAdmin):
    list_display = ("reference", "user", "state", "created_at", "taken_by", "outcome")
    list_filter = (StateFilter,)
    search_fields = ("reference", "user__user_id", "user__display_name")
    list_select_related = ("user", "taken_by")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {"title": _("Recovery requests"), **(extra_context or {})}
        return super().changelist_view(request, context)

    def get_queryset(self, request: HttpRequest) -> QuerySet[RecoveryRequest]:
        return super().get_queryset(request).filter(user__isnull=False)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        if obj is None or not allowed:
            return allowed
        return obj.user is not None and may_act(
            _actor(request), obj.user, HelpdeskAction.WORK_RECOVERY
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The work page: no model form; each button is one ``resets.recovery`` step."""
        found = self.get_object(request, unquote(object_id))
        if found is None:
            raise Http404
        if not self.has_change_permission(request, found):
            raise PermissionDenied
        confirm_form = ConfirmIdentityForm(
            initial={"checks": found.checklist, "note": found.note}, prefix="confirm"
        )
        pass_form = IssuePassForm(policy=get_access_pass_policy(), prefix="pass")
        if request.method == "POST":
            step = request.POST.get("step", "")
            if step == "confirm":
                confirm_form = ConfirmIdentityForm(request.POST, prefix="confirm")
            if step == "pass":
                pass_form = IssuePassForm(
                    request.POST, policy=get_access_pass_policy(), prefix="pass"
                )
            response = self._step(request, found, step, confirm_form, pass_form)
            if response is not None:
                return response
        return self._work_page(request, found, confirm_form, pass_form)

    def _step(
        self,
        request: HttpRequest,
        found: RecoveryRequest,
        step: str,
        confirm_form: ConfirmIdentityForm,
        pass_form: IssuePassForm,
    ) -> HttpResponse | None:
        actor, meta = _actor(request), request_meta(request)
        try:
            if step == "take":
                recovery.take_request(actor=actor, request=found, meta=meta)
            elif step == "confirm" and confirm_form.is_valid():
                recovery.confirm_identity(
                    actor=actor,
                    request=found,
                    checks=confirm_form.cleaned_data["checks"],
                    note=confirm_form.cleaned_data["note"],
                    meta=meta,
                )
            elif step == "pass" and pass_form.is_valid():
                issued = recovery.issue_pass_for_request(
                    actor=actor,
                    request=found,
                    lifetime_minutes=pass_form.cleaned_data["lifetime_minutes"],
                    one_time=pass_form.cleaned_data["one_time"],
                    meta=meta,
                )
                return self._pass_page(request, found, issued)
            elif step in RecoveryOutcome.values and step != RecoveryOutcome.PASS_ISSUED:
                recovery.close_request(
                    actor=actor, request=found, outcome=RecoveryOutcome(step), meta=meta
                )
            else:
                return None  # a form with errors: shown again
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        url = reverse("console:resets_recoveryrequest_change", args=[found.pk])
        return HttpResponseRedirect(url)

    def _context(self, request: HttpRequest, found: RecoveryRequest) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": found,
            "person": found.user,
            "title": _("Recovery request %(reference)s") % {"reference": found.reference},
        }

    def _work_page(
        self,
        request: HttpRequest,
        found: RecoveryRequest,
        confirm_form: ConfirmIdentityForm,
        pass_form: IssuePassForm,
    ) -> TemplateResponse:
        assert found.user is not None  # the queue holds only requests of real people
        labels = dict(recovery.CHECKLIST)
        context = {
            **self._context(request, found),
            "confirm_form": confirm_form,
            "pass_form": pass_form,
            "done": found.state == RecoveryState.DONE,
            "checked": [labels[k] for k in found.checklist if k in labels],
            "pass_line": describe_pass(found.user),
            "closing": [
                (RecoveryOutcome.NOT_CONFIRMED.value, RecoveryOutcome.NOT_CONFIRMED.label),
                (RecoveryOutcome.WITHDRAWN.value, RecoveryOutcome.WITHDRAWN.label),
            ],
        }
        return TemplateResponse(request, "console/recovery_request.html", context)

    def _pass_page(self, request: HttpRequest, found: RecoveryRequest, issued: Any) -> Any:
        response = TemplateResponse(
            request,
            "console/access_pass_issued.html",
            {
                **self._context(request, found),
                "target": found.user,
                "issued": issued,
                "expires": date_format(localtime(issued.expires_at), "DATETIME_FORMAT"),
                "back_url": reverse("console:resets_recoveryrequest_changelist"),
            },
        )
        response["Cache-Control"] = "no-store"
        return response


@admin.register(AccessPassPolicy, site=console_site)
class AccessPassPolicyAdmin(AuditedModelAdmin):
    audit_values = True
    fields = ("default_lifetime_minutes", "max_lifetime_minutes", "one_time_by_default", "length")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not AccessPassPolicy.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
