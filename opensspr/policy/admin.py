from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from opensspr.console.admin_base import AuditedModelAdmin
from opensspr.console.site import console_site
from opensspr.policy.models import PasswordSettings, SsprPolicy


@admin.register(PasswordSettings, site=console_site)
class PasswordSettingsAdmin(AuditedModelAdmin):
    audit_values = True
    fields = (
        "profile",
        "nist_min_length",
        "passwords_expire",
        "expiry_days",
        "custom_banned_terms",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not PasswordSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SsprPolicy, site=console_site)
class SsprPolicyAdmin(AuditedModelAdmin):
    audit_values = True
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
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not SsprPolicy.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

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
