"""Audit events in the console: read-only, filterable, never editable."""

from typing import Any, ClassVar

from django.contrib import admin
from django.http import HttpRequest

from opensspr.audit.models import AuditEvent
from opensspr.console.audit_log import (
    ActivityCategoryFilter,
    ActivityFilter,
    activity_label,
    activity_with_value,
)
from opensspr.console.site import console_site


@admin.register(AuditEvent, site=console_site)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = (
        "occurred_at",
        activity_label,
        "outcome",
        "reason",
        "actor_label",
        "target_label",
        "ip_address",
    )
    list_filter = ("outcome", ActivityCategoryFilter, ActivityFilter)
    search_fields = ("target_label", "actor_label", "correlation_id", "activity")
    date_hierarchy = "occurred_at"
    readonly_fields: ClassVar[list[Any]] = [  # field names, and the label-and-value callable
        activity_with_value if f.name == "activity" else f.name for f in AuditEvent._meta.fields
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
