"""How the console's audit log shows and filters activities: by label and category.

The stored value (``signin.failed``) is for exports and SIEM rules; people read
the catalogue's translated label. Filters offer the whole catalogue, not the
values present in the table, so the lists don't cost a scan of the log.
"""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from opensspr.audit.activities import Activity, Category, activities_in, label_for


class ActivityCategoryFilter(admin.SimpleListFilter):
    """Narrow the log to one category (sign-in, reset, delivery, …)."""

    title = _("category")
    parameter_name = "category"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(Category.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value not in Category.values:
            return queryset
        return queryset.filter(activity__in=[a.value for a in activities_in(value)])


class ActivityFilter(admin.SimpleListFilter):
    """Narrow the log to one activity, listed by label (within the chosen category)."""

    title = _("activity")
    parameter_name = "activity"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        category = request.GET.get(ActivityCategoryFilter.parameter_name)
        members = activities_in(category) if category in Category.values else list(Activity)
        return [(a.value, a.label) for a in members]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(activity=value) if value else queryset


@admin.display(description=_("activity"), ordering="activity")
def activity_label(event: Any) -> str:
    """The label people read; an activity unknown to this release shows its value."""
    return label_for(event.activity)


@admin.display(description=_("activity"))
def activity_with_value(event: Any) -> str:
    """An event's page: the label, then the stored value exports and SIEM rules match on."""
    label = label_for(event.activity)
    return label if label == event.activity else f"{label} ({event.activity})"
