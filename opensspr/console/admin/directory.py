"""Console page for the on-premises directory: connection, scope, mapping, roles, schedule.

One row (pk=1). Changes are audited by ``AuditedModelAdmin`` with field names
only; the service account's password is write-only (``directory.forms``).
Role mappings are an inline, audited with the row. Only global administrators
see the page (it decides who becomes an administrator).
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from opensspr.console.admin_base import AuditedModelAdmin
from opensspr.console.site import console_site
from opensspr.directory.forms import DirectorySettingsForm
from opensspr.directory.models import DirectorySettings, RoleMapping


class RoleMappingInline(admin.TabularInline):
    model = RoleMapping
    extra = 0


@admin.register(DirectorySettings, site=console_site)
class DirectorySettingsAdmin(AuditedModelAdmin):
    audit_values = False  # the form carries the service account's password
    form = DirectorySettingsForm
    inlines = (RoleMappingInline,)
    fieldsets = (
        (None, {"fields": ("enabled", "kind")}),
        (
            _("Connection"),
            {
                "fields": (
                    "urls",
                    "tls_mode",
                    "ca_certificate",
                    "server_name",
                    "bind_dn",
                    "bind_password",
                )
            },
        ),
        (
            _("Scope"),
            {"fields": ("base_dn", "user_ous", "user_filter", "group_ous", "group_filter")},
        ),
        (
            _("Attribute mapping"),
            {
                "fields": (
                    "user_id_attribute",
                    "user_id_suffix",
                    "display_name_attribute",
                    "given_name_attribute",
                    "surname_attribute",
                    "email_attribute",
                    "mobile_phone_attribute",
                    "office_phone_attribute",
                    "disabled_attribute",
                    "disabled_value",
                    "group_name_attribute",
                    "member_attribute",
                )
            },
        ),
        (_("Schedule"), {"fields": ("sync_interval_minutes", "full_sync_interval_hours")}),
    )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser) and not DirectorySettings.objects.exists()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.pk = 1  # one row
        super().save_model(request, obj, form, change)
