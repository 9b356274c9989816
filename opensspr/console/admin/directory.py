"""Console page for the on-premises directory: connection, scope, mapping, roles, schedule.

One row, a ``SingletonAdmin`` page (never a list). Changes are audited with field names
only; the service account's password is write-only (``directory.forms``).
Role mappings are an inline, audited with the row. Only global administrators
see the page (it decides who becomes an administrator). "Check the directory"
runs the writeback doctor (``directory.doctor``) on the saved settings and lists
its findings; it only reads the directory, and each run is audited.
"""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _

from opensspr.console.admin_base import SingletonAdmin, _actor
from opensspr.console.site import console_site
from opensspr.core.request_meta import request_meta
from opensspr.directory.doctor import DoctorNotConfiguredError, check_directory
from opensspr.directory.forms import DirectorySettingsForm
from opensspr.directory.models import DirectorySettings, RoleMapping


class RoleMappingInline(admin.TabularInline):
    model = RoleMapping
    extra = 0


@admin.register(DirectorySettings, site=console_site)
class DirectorySettingsAdmin(SingletonAdmin):
    title = _("On-premises directory")
    audit_values = False  # the form carries the service account's password
    form = DirectorySettingsForm
    change_form_template = "console/directory_change_form.html"
    inlines = (RoleMappingInline,)
    fieldsets = (
        (None, {"fields": ("enabled", "kind", "transport")}),
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
        # What the directory itself enforces: shown on the new-password page (OpenLDAP's
        # default policy), and whether a reset obeys history (AD; off on Samba, which
        # lacks the control and would refuse every reset).
        (_("Password rules"), {"fields": ("ppolicy_default_dn", "ad_policy_hints")}),
        (_("Schedule"), {"fields": ("sync_interval_minutes", "full_sync_interval_hours")}),
    )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def get_urls(self) -> list[URLPattern]:
        doctor = path(
            "doctor/",
            self.admin_site.admin_view(self.doctor_view),
            name="directory_directorysettings_doctor",
        )
        return [doctor, *super().get_urls()]

    def doctor_view(self, request: HttpRequest) -> HttpResponse:
        """GET shows the button (and a sample user field); POST runs the checks.

        POST only, so following or prefetching a link never opens LDAP
        connections to the directory.
        """
        if not self.has_view_permission(request):
            raise PermissionDenied
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Check the directory"),
            "sample_user": "",
            "reports": None,
            "not_configured": "",
        }
        if request.method == "POST":
            sample = request.POST.get("sample_user", "").strip()[:256]
            context["sample_user"] = sample
            try:
                context["reports"] = check_directory(
                    actor=_actor(request), meta=request_meta(request), sample_user_id=sample or None
                )
            except DoctorNotConfiguredError:
                context["not_configured"] = _(
                    "No on-premises directory is configured yet: enter the server URLs and "
                    "the service account, save, then check."
                )
        return TemplateResponse(request, "console/directory_doctor.html", context)
