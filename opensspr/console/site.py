"""The administrators' console: Django's admin, signed in through our own sign-in.

The admin's login form would be a second password path without smart lockout
or audit, so it redirects to /signin instead (ASVS 6.3.3: one equally strong
path). Access needs an enabled account holding an administrator role.
"""

from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class ConsoleSite(admin.AdminSite):
    site_header = _("OpenSSPR console")
    site_title = _("OpenSSPR console")
    index_title = _("Directory and policy")

    def login(self, request: HttpRequest, extra_context: object = None) -> HttpResponse:
        if request.user.is_authenticated:
            # Signed in but no administrator role: say so, don't loop through /signin.
            return TemplateResponse(request, "console/no_access.html", status=403)
        target = request.GET.get("next") or reverse("console:index")
        return HttpResponseRedirect(f"{reverse('signin:signin')}?{urlencode({'next': target})}")

    def logout(self, request: HttpRequest, extra_context: object = None) -> HttpResponse:
        from opensspr.signin.views import signout_view

        return signout_view(request)

    def password_change(self, request: HttpRequest, extra_context: object = None) -> HttpResponse:
        """Django's own form would skip our policy, lockout and audit: use the portal's."""
        return HttpResponseRedirect(reverse("portal:change_password"))

    def password_change_done(
        self, request: HttpRequest, extra_context: object = None
    ) -> HttpResponse:
        return HttpResponseRedirect(reverse("portal:home"))

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)


console_site = ConsoleSite(name="console")
