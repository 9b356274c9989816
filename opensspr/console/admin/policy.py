"""Console pages for policy: password rules, the reset policy and custom questions.

A change to the reset policy that would leave people unable to reset (one method
registered, two now required; a method switched off; out of a new scope) is
shown before it is saved: how many and who, with "Save anyway" or back
(reference §2.4). Deleting a custom question shows the same for the people who
answered it, because their answers go with it.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from opensspr.accounts.roles import AdminRole
from opensspr.console.admin_base import AuditedModelAdmin, SingletonAdmin, _actor
from opensspr.console.site import console_site
from opensspr.core.request_meta import request_meta
from opensspr.policy.models import (
    CUSTOM_QUESTIONS_MAX,
    CustomQuestion,
    PasswordSettings,
    SsprPolicy,
)
from opensspr.policy.reset_selectors import get_sspr_policy
from opensspr.registration.admin_services import delete_custom_question
from opensspr.registration.models import RegistrationCampaign
from opensspr.reports.impact import (
    IMPACT_FIELDS,
    PolicyImpact,
    get_policy_impact,
    get_question_removal_impact,
)

#: How many stranded people the confirmation page names; the count is always exact.
IMPACT_LIST_LIMIT = 200
CONFIRM_FIELD = "_confirm_impact"


@admin.register(PasswordSettings, site=console_site)
class PasswordSettingsAdmin(SingletonAdmin):
    audit_values = True
    fields = (
        "profile",
        "nist_min_length",
        "passwords_expire",
        "expiry_days",
        "custom_banned_terms",
    )


@admin.register(SsprPolicy, site=console_site)
class SsprPolicyAdmin(SingletonAdmin):
    audit_values = True
    # Not built yet: shown, so the slot is visible, but not something to tick and be refused.
    readonly_fields = ("allow_app_notification", "administrator_policy")
    fieldsets = (
        (None, {"fields": ("scope", "group")}),
        (
            _("Authentication methods"),
            {
                "fields": (
                    "methods_required",
                    "allow_email",
                    "allow_mobile_sms",
                    "allow_mobile_voice",
                    "allow_office_voice",
                    "allow_app_code",
                    "allow_app_notification",
                    "allow_security_questions",
                    "questions_to_register",
                    "questions_to_reset",
                )
            },
        ),
        (
            _("Notifications and unlock"),
            {
                "fields": (
                    "notify_users",
                    "notify_admins",
                    "unlock_without_reset",
                    "helpdesk_contact",
                )
            },
        ),
        (
            _("Administrators and on-premises"),
            {"fields": ("admins_may_reset", "writeback_enabled")},
        ),
        (
            _("Administrator policy"),
            {
                "fields": ("administrator_policy",),
                "description": _(
                    "Fixed, as in Microsoft Entra ID: it can't be changed here, only turned "
                    "off above."
                ),
            },
        ),
    )

    @admin.display(description=_("how administrators reset"))
    def administrator_policy(self, obj: SsprPolicy | None) -> str:
        """The two-gate policy every administrator follows (reference §3), in words."""
        roles = ", ".join(str(role.label) for role in AdminRole)
        lines = [
            _("Who: everyone holding an administrator role here (%(roles)s).") % {"roles": roles},
            _(
                "Two different methods at every reset, whatever the number above: two "
                "verification steps, one after the other."
            ),
            _(
                "Which: the alternate email, a text or a call to the mobile phone, a call to "
                "the office phone, a code from an authenticator app, as far as the methods "
                "above allow them."
            ),
            _(
                "Never security questions: answers are too easy to find out for an account "
                "that can change other people's."
            ),
            _(
                "Whatever the scope above: an administrator outside the selected group may "
                "still reset, unless administrators are turned off above."
            ),
            _(
                "At the reset page an administrator sees the same steps as anyone, so nobody "
                "can tell from outside which user IDs belong to administrators."
            ),
        ]
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((line,) for line in lines))
        )

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "POST" and CONFIRM_FIELD not in request.POST:
            preview = self._impact_preview(request, object_id)
            if preview is not None:
                return preview
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _impact_preview(self, request: HttpRequest, object_id: str | None) -> HttpResponse | None:
        """The confirmation page when a valid change would strand people, else None.

        Anything else (no permission, an invalid form, a change that strands no
        one) falls through to the normal save path, which handles it as usual.
        """
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        allowed = (
            self.has_change_permission(request, obj) if obj else self.has_add_permission(request)
        )
        if not allowed or (object_id and obj is None):
            return None
        form_class = self.get_form(request, obj, change=obj is not None)
        form = form_class(request.POST, request.FILES, instance=obj)
        if not form.is_valid() or not IMPACT_FIELDS & set(form.changed_data):
            return None
        impact = get_policy_impact(current=get_sspr_policy(), candidate=form.instance)
        if not impact.strands_anyone:
            return None
        return TemplateResponse(
            request,
            "console/policy_impact.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Confirm the policy change"),
                "opts": self.model._meta,
                "impact": impact,
                "shown": impact.losing[:IMPACT_LIST_LIMIT],
                "gaining_shown": impact.gaining[:IMPACT_LIST_LIMIT],
                "changed": [form.fields[f].label for f in form.changed_data],
                "posted": [
                    (name, value)
                    for name, values in request.POST.lists()
                    if name != "csrfmiddlewaretoken"
                    for value in values
                ],
                "confirm_field": CONFIRM_FIELD,
                "back_url": request.get_full_path(),
            },
        )

    def save_model(self, request: HttpRequest, obj: SsprPolicy, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if obj.allow_security_questions:
            messages.warning(
                request,
                _(
                    "Security questions are enabled. They are weak (answers are often guessable "
                    "or public), are never offered to administrators, and should only ever be a "
                    "second method next to a stronger one."
                ),
            )


class CustomQuestionForm(forms.ModelForm):
    class Meta:
        model = CustomQuestion
        fields = ("text",)
        help_texts = {
            "text": _(
                "3 to 200 characters, shown exactly as typed in every language. Changing "
                "what a question asks makes the answers people gave wrong: add a new question "
                "instead."
            )
        }

    def clean_text(self) -> str:
        text = " ".join(self.cleaned_data.get("text", "").split())
        others = CustomQuestion.objects.exclude(pk=self.instance.pk)
        if others.filter(text__iexact=text).exists():
            raise forms.ValidationError(_("This question already exists."))
        return text

    def clean(self) -> dict[str, Any] | None:
        data = super().clean()
        if self.instance.pk is None and CustomQuestion.objects.count() >= CUSTOM_QUESTIONS_MAX:
            raise forms.ValidationError(
                _("An organisation can have at most %(max)d custom questions.")
                % {"max": CUSTOM_QUESTIONS_MAX}
            )
        return data


@admin.register(RegistrationCampaign, site=console_site)
class RegistrationCampaignAdmin(SingletonAdmin):
    """Email reminders to people who can't reset yet (``registration.campaign``)."""

    audit_values = True
    title = _("Registration campaign")
    fields = ("enabled", "interval_days", "max_reminders")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # The one row is set up, not added: whoever may change it may create it.
        return self._row_pk() is None and self.has_change_permission(request)


@admin.register(CustomQuestion, site=console_site)
class CustomQuestionAdmin(AuditedModelAdmin):
    """The organisation's own security questions (reference §2.1: up to 20)."""

    audit_values = True
    form = CustomQuestionForm
    list_display = ("text", "created_at")
    search_fields = ("text",)
    delete_confirmation_template = "console/custom_question_delete.html"
    # No bulk "delete selected": it would skip the impact shown before each deletion.
    actions = None

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        question = self.get_object(request, unquote(object_id))
        impact: PolicyImpact | None = None
        if (
            question is not None
            and request.method != "POST"
            and self.has_delete_permission(request, question)
        ):
            impact = get_question_removal_impact(question)
        context = {**(extra_context or {}), "impact": impact, "impact_limit": IMPACT_LIST_LIMIT}
        return super().delete_view(request, object_id, context)

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        assert isinstance(obj, CustomQuestion)
        delete_custom_question(actor=_actor(request), question=obj, meta=request_meta(request))
