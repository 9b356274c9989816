"""Console page "On-premises agents": their status, adding one (its token shown once), revoking.

The list leads with the directory's status (one of six, ``agents.status``) in
words an administrator can act on, beside the settings that decide writeback:
how the directory is reached, and the policy's two switches (writeback, unlock
without reset), saved here and audited as the policy page saves them. In
direct mode the directory check (the doctor) runs here on demand.
Adding an agent and revoking one go through ``agents.services``, which audit
them; the enrolment token is shown once and never stored. Rows are never
edited or deleted here: an agent is revoked, and its row stays as history.
"""

import copy
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from opensspr.accounts.models import User
from opensspr.agents import services, status
from opensspr.agents.models import Agent
from opensspr.console.admin_base import _actor
from opensspr.console.services import save_from_console
from opensspr.console.site import console_site
from opensspr.core.request_meta import request_meta
from opensspr.directory.doctor import DoctorNotConfiguredError, check_directory
from opensspr.directory.models import DirectorySettings, Transport
from opensspr.policy.models import SsprPolicy
from opensspr.policy.reset_selectors import get_sspr_policy


class NewAgentForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("For you to tell agents apart, e.g. the host it runs on."),
    )


@admin.register(Agent, site=console_site)
class AgentAdmin(admin.ModelAdmin):
    change_list_template = "console/agents_list.html"
    list_display = (
        "name",
        "status_text",
        "last_heartbeat_at",
        "version",
        "address",
        "host",
        "jobs_done",
        "jobs_failed",
        "revoke_link",
    )
    list_display_links = None
    ordering = ("created_at",)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("status"))
    def status_text(self, agent: Agent) -> str:
        if agent.revoked_at:
            return str(_("Revoked"))
        if agent.enrolled_at is None:
            return str(_("Waiting for enrolment"))
        return str(STATUS_LABELS[status.of_agent(agent).status])

    @admin.display(description=_("revoke"))
    def revoke_link(self, agent: Agent) -> str:  # the HTML is built by format_html
        if agent.revoked_at:
            return ""
        url = reverse("console:agents_agent_revoke", args=[agent.pk])
        return _link(url, str(_("Revoke…")))

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """The status first; POST saves the two switches or runs the directory check."""
        directory = DirectorySettings.objects.filter(pk=1).first()
        agent_mode = directory is not None and directory.transport == Transport.AGENT
        reports = None
        if request.method == "POST" and "switches" in request.POST:
            self._save_switches(request)
            return HttpResponseRedirect(request.path)
        if request.method == "POST" and "check_directory" in request.POST and not agent_mode:
            try:
                reports = check_directory(actor=_actor(request), meta=request_meta(request))
            except DoctorNotConfiguredError:
                reports = []
        policy = get_sspr_policy()
        overall = status.of_directory()
        context = {
            "agent_status": overall,
            "agent_status_label": STATUS_LABELS[overall.status],
            "transport": directory.get_transport_display() if directory else None,
            "agent_mode": agent_mode,
            "writeback_enabled": policy.writeback_enabled,
            "unlock_without_reset": policy.unlock_without_reset,
            "may_change_policy": request.user.has_perm("policy.change_ssprpolicy"),
            "reports": reports,
            **(extra_context or {}),
        }
        # After the directory check the list renders as on a GET (the stock changelist reads
        # a POST as a bulk action); the POST itself was checked for CSRF by the middleware.
        shown = copy.copy(request)
        shown.method = "GET"
        return super().changelist_view(shown, context)

    def _save_switches(self, request: HttpRequest) -> None:
        """Writeback and unlock-without-reset, saved and audited like the policy page does."""
        if not request.user.has_perm("policy.change_ssprpolicy"):
            raise PermissionDenied
        policy = SsprPolicy.objects.get(pk=1)
        wanted = {
            "writeback_enabled": request.POST.get("writeback_enabled") == "on",
            "unlock_without_reset": request.POST.get("unlock_without_reset") == "on",
        }
        changed = [name for name, value in wanted.items() if getattr(policy, name) != value]
        if not changed:
            return
        for name in changed:
            setattr(policy, name, wanted[name])
        actor = request.user
        assert isinstance(actor, User)
        save_from_console(
            actor=actor,
            obj=policy,
            is_new=False,
            changed_fields=changed,
            meta=request_meta(request),
            save=lambda: policy.save(update_fields=changed),
            values=[{"field": n, "old": not wanted[n], "new": wanted[n]} for n in changed],
        )
        messages.success(request, _("The self-service reset policy is saved."))

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = NewAgentForm(request.POST or None)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Add an on-premises agent"),
            "form": form,
            "created": None,
        }
        if request.method == "POST" and form.is_valid():
            actor = request.user
            assert isinstance(actor, User)
            created = services.create_agent(
                name=form.cleaned_data["name"], actor=actor, meta=request_meta(request)
            )
            context["created"] = created
            context["server_url"] = request.build_absolute_uri("/").rstrip("/")
        response = TemplateResponse(request, "console/agent_add.html", context)
        response["Cache-Control"] = "no-store"  # the token is on this page once
        return response

    def get_urls(self) -> list[URLPattern]:
        revoke = path(
            "<uuid:agent_id>/revoke/",
            self.admin_site.admin_view(self.revoke_view),
            name="agents_agent_revoke",
        )
        return [revoke, *super().get_urls()]

    def revoke_view(self, request: HttpRequest, agent_id: str) -> HttpResponse:
        """GET asks for confirmation; POST revokes."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        agent = get_object_or_404(Agent, pk=agent_id)
        if request.method == "POST":
            actor = request.user
            assert isinstance(actor, User)
            services.revoke(agent, actor=actor, meta=request_meta(request))
            messages.success(
                request,
                _("%(name)s is revoked: its credential is refused from now on.")
                % {"name": agent.name},
            )
            return HttpResponseRedirect(reverse("console:agents_agent_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Revoke %(name)s?") % {"name": agent.name},
            "agent": agent,
        }
        return TemplateResponse(request, "console/agent_revoke.html", context)


STATUS_LABELS = {
    status.Status.RUNNING: _("Up and running"),
    status.Status.OUTDATED: _("Running, but outdated"),
    status.Status.TOO_OLD: _("Can't check: too old"),
    status.Status.UNREACHABLE: _("Can't connect"),
    status.Status.MISCONFIGURED: _("Not configured correctly"),
    status.Status.SERVER_PROBLEM: _("Temporary problem on our side"),
}


def _link(url: str, text: str) -> str:
    return format_html('<a href="{}">{}</a>', url, text)
