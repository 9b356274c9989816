from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from opensspr.console.admin_base import AuditedModelAdmin
from opensspr.console.site import console_site
from opensspr.policy.models import PasswordSettings


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
