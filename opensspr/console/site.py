"""The administrators' console: Django's admin, signed in through our own sign-in.

The admin's login form would be a second password path without smart lockout
or audit, so it redirects to /signin instead (ASVS 6.3.3: one equally strong
path). Access needs an enabled account holding an administrator role.

Pages that aren't a model's admin (reports) register as ``ConsolePage``: they get
the console's sign-in and CSRF wrapping, a place in the index and side bar next
to the models, and are shown only to administrators holding their permission.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from opensspr.console.home import home_context
from opensspr.signin.views import signout_view


@dataclass(frozen=True)
class ConsolePage:
    """A console page that isn't a model admin, such as a report."""

    section_label: str  # groups pages under one heading, like an app label ("reports")
    section: str | Promise  # the heading shown
    title: str | Promise
    route: str  # below /console/, for example "reports/registrations/"
    name: str  # URL name in the console namespace
    view: Callable[[HttpRequest], HttpResponseBase]
    permission: str  # "app_label.codename" the administrator needs to see and open it


class ConsoleSite(admin.AdminSite):
    site_header = _("OpenSSPR console")
    site_title = _("OpenSSPR console")
    index_title = _("Directory and policy")
    index_template = "console/home.html"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        self._pages: list[ConsolePage] = []

    def login(self, request: HttpRequest, extra_context: object = None) -> HttpResponse:
        if request.user.is_authenticated:
            # Signed in but no administrator role: say so, don't loop through /signin.
            return TemplateResponse(request, "console/no_access.html", status=403)
        target = request.GET.get("next") or reverse("console:index")
        return HttpResponseRedirect(f"{reverse('signin:signin')}?{urlencode({'next': target})}")

    # The three below answer with a redirect to our own pages. django-stubs declares
    # Django's versions as returning TemplateResponse, narrower than Django itself (its
    # logout can redirect too, and the admin serves any HttpResponse from these views).
    def logout(  # type: ignore[override]  # a redirect, see above
        self, request: HttpRequest, extra_context: object = None
    ) -> HttpResponse:
        return signout_view(request)

    def password_change(  # type: ignore[override]  # a redirect, see above
        self, request: HttpRequest, extra_context: object = None
    ) -> HttpResponse:
        """Django's own form would skip our policy, lockout and audit: use the portal's."""
        return HttpResponseRedirect(reverse("portal:change_password"))

    def password_change_done(  # type: ignore[override]  # a redirect, see above
        self, request: HttpRequest, extra_context: object = None
    ) -> HttpResponse:
        return HttpResponseRedirect(reverse("portal:home"))

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        """The home: self-service at a glance above the list of pages (``console.home``)."""
        return super().index(request, {**home_context(request), **(extra_context or {})})

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    # --- pages that aren't model admins ----------------------------------------------

    def register_page(self, page: ConsolePage) -> None:
        self._pages.append(page)

    def _sections(self) -> set[str]:
        return {page.section_label for page in self._pages}

    def get_urls(self) -> list[URLResolver | URLPattern]:
        # Before the model URLs: the admin ends with a catch-all pattern.
        pages = [path(p.route, self.admin_view(_guarded(p)), name=p.name) for p in self._pages]
        return [*pages, *super().get_urls()]

    def get_app_list(
        self, request: HttpRequest, app_label: str | None = None
    ) -> list[dict[str, Any]]:
        apps = super().get_app_list(request, app_label)
        # A page's section may be an app with model admins too (reports): one heading.
        sections: dict[str, dict[str, Any]] = {
            app["app_label"]: app for app in apps if app["app_label"] in self._sections()
        }
        apps = [app for app in apps if app["app_label"] not in sections]
        for page in self._pages:
            if app_label not in (None, page.section_label):
                continue
            if not request.user.has_perm(page.permission):
                continue
            url = reverse(f"{self.name}:{page.name}", current_app=self.name)
            section = sections.setdefault(
                page.section_label,
                {
                    "name": page.section,
                    "app_label": page.section_label,
                    "app_url": url,
                    "has_module_perms": True,
                    "models": [],
                },
            )
            section["models"].append(
                {
                    "name": page.title,
                    "object_name": page.name,
                    "perms": {"view": True},
                    "admin_url": url,
                    "add_url": None,
                    "view_only": True,
                }
            )
        return sorted([*apps, *sections.values()], key=lambda app: str(app["name"]).lower())


def _guarded(page: ConsolePage) -> Callable[[HttpRequest], HttpResponseBase]:
    def view(request: HttpRequest) -> HttpResponseBase:
        if not request.user.has_perm(page.permission):
            raise PermissionDenied
        return page.view(request)

    return view


console_site = ConsoleSite(name="console")
