"""Audit events in the console: read-only, filterable, never editable."""

from typing import Any, ClassVar

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils.translation import gettext_lazy as _

from opensspr.audit import exports
from opensspr.audit.models import AuditEvent
from opensspr.audit.services import record_audit_export
from opensspr.console.audit_log import (
    ActivityCategoryFilter,
    ActivityFilter,
    activity_label,
    activity_with_value,
)
from opensspr.console.site import console_site
from opensspr.core import clock
from opensspr.core.request_meta import request_meta


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
    actions = ("export_csv", "export_jsonl")
    readonly_fields: ClassVar[list[Any]] = [  # field names, and the label-and-value callable
        activity_with_value if f.name == "activity" else f.name for f in AuditEvent._meta.fields
    ]

    @admin.action(description=_("Export selected events as CSV (for a spreadsheet)"))
    def export_csv(
        self, request: HttpRequest, queryset: QuerySet[AuditEvent]
    ) -> StreamingHttpResponse:
        return self._export(request, queryset, "csv")

    @admin.action(description=_("Export selected events as JSON lines (for a SIEM)"))
    def export_jsonl(
        self, request: HttpRequest, queryset: QuerySet[AuditEvent]
    ) -> StreamingHttpResponse:
        return self._export(request, queryset, "jsonl")

    def _export(
        self, request: HttpRequest, queryset: QuerySet[AuditEvent], export_format: str
    ) -> StreamingHttpResponse:
        """Stream the events oldest first; the export itself is audited first."""
        events = queryset.order_by("occurred_at", "id")
        record_audit_export(
            actor=request.user,  # type: ignore[arg-type]  # the console's users are ours
            rows=events.count(),
            export_format=export_format,
            meta=request_meta(request),
        )
        rows = exports.csv_rows if export_format == "csv" else exports.jsonl_rows
        content_type = "text/csv" if export_format == "csv" else "application/x-ndjson"
        stamp = clock.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(
            rows(exports.in_pages(events)), content_type=f"{content_type}; charset=utf-8"
        )
        extension = "csv" if export_format == "csv" else "jsonl"
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{extension}"'
        response["Cache-Control"] = "no-store"
        return response

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
