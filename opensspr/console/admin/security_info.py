"""The user page's security-info parts: what a person registered, and clearing it.

Mixed into ``console.admin.accounts.UserAdmin``: the "registered for self-service reset"
summary, the "Clear security info" button with its confirmation page, the bulk
action of the same name, and the self-service reset block (reference §5.1) with
its "Lift the block" button. The page shows statuses only, never an answer, a
seed or a value; clearing goes through ``registration.admin_services`` and
lifting through ``resets.blocks``, which check the actor's role
(``accounts.roles``) again and audit.
"""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from opensspr.accounts.models import User
from opensspr.accounts.roles import roles_may_manage_security_info
from opensspr.console.admin_base import _actor
from opensspr.core.request_meta import request_meta
from opensspr.policy.reset_selectors import get_sspr_policy
from opensspr.registration import admin_services
from opensspr.registration.admin_services import may_clear_security_info
from opensspr.reports.capability import get_capability
from opensspr.reports.registered import DataKind, RegistrationSummary, get_registration_summary
from opensspr.resets.blocks import (
    ResetBlock,
    get_reset_block,
    lift_reset_block,
    may_lift_reset_block,
)


class SecurityInfoAdminMixin(admin.ModelAdmin):
    """Security-info display and clearing for the user admin; holds no other behaviour."""

    def _manageable(self, request: HttpRequest, queryset: QuerySet[User]) -> list[User]:
        raise NotImplementedError  # the user admin's: who the actor may act on

    @admin.display(description=_("registered for self-service reset"))
    def security_info(self, obj: User) -> str:
        if obj.pk is None:
            return "-"
        policy = get_sspr_policy()
        info = get_registration_summary(obj, policy)
        capability = get_capability(obj, policy)
        lines = [*registration_lines(info)]
        if info.confirmed_at:
            when = date_format(localtime(info.confirmed_at), "DATETIME_FORMAT")
            lines.append(str(_("Last confirmed by the person: %(time)s") % {"time": when}))
        else:
            lines.append(str(_("Never confirmed by the person.")))
        block = get_reset_block(obj)
        if not capability.capable:
            lines.append(
                str(
                    _("Can't use self-service password reset: %(reason)s (%(code)s).")
                    % {"reason": capability.reason_label, "code": capability.reason}
                )
            )
        elif block is None:
            lines.append(str(_("Can use self-service password reset.")))
        if block is not None:
            lines.append(block_line(block))
        return format_html(
            '<ul class="security-info">{}</ul>',
            format_html_join("", "<li>{}</li>", ((line,) for line in lines)),
        )

    # --- clearing registrations --------------------------------------------------------

    def has_clear_security_info_permission(self, request: HttpRequest) -> bool:
        actor = _actor(request)
        return roles_may_manage_security_info(actor.admin_roles) and self.has_change_permission(
            request
        )

    def get_urls(self) -> list[URLPattern]:
        clear = path(
            "<path:object_id>/clear-security-info/",
            self.admin_site.admin_view(self.clear_security_info_view),
            name="accounts_user_clear_security_info",
        )
        lift = path(
            "<path:object_id>/lift-reset-block/",
            self.admin_site.admin_view(require_POST(self.lift_reset_block_view)),
            name="accounts_user_lift_reset_block",
        )
        return [clear, lift, *super().get_urls()]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        target = self.get_object(request, unquote(object_id))
        can_clear = target is not None and may_clear_security_info(_actor(request), target)
        can_lift = target is not None and may_lift_reset_block(_actor(request), target)
        block = get_reset_block(target) if can_lift and target is not None else None
        context = {
            **(extra_context or {}),
            "can_clear_security_info": can_clear,
            "reset_block": block_line(block) if block else "",
        }
        return super().change_view(request, object_id, form_url, context)

    def lift_reset_block_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The user page's "Lift the block" button (POST only; the block is shown beside it)."""
        target = self.get_object(request, unquote(object_id))
        if target is None:
            raise Http404
        if not may_lift_reset_block(_actor(request), target):
            raise PermissionDenied
        lifted = lift_reset_block(actor=_actor(request), user=target, meta=request_meta(request))
        if lifted is None:
            self.message_user(
                request, _("%(user)s is not blocked from self-service reset.") % {"user": target}
            )
        else:
            self.message_user(
                request,
                _("The self-service reset block on %(user)s was lifted: they can try again now.")
                % {"user": target},
                messages.SUCCESS,
            )
        url = reverse(
            "admin:accounts_user_change", args=[target.pk], current_app=self.admin_site.name
        )
        return HttpResponseRedirect(url)

    def clear_security_info_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The user page's "Clear security info" button: confirm (GET), then clear (POST)."""
        target = self.get_object(request, unquote(object_id))
        if target is None:
            raise Http404
        if not may_clear_security_info(_actor(request), target):
            raise PermissionDenied
        if request.method == "POST":
            self._clear(request, [target])
            url = reverse(
                "admin:accounts_user_change", args=[target.pk], current_app=self.admin_site.name
            )
            return HttpResponseRedirect(url)
        return self._clear_confirmation(request, [target], from_action=False)

    @admin.action(
        description=_("Clear security info registrations"), permissions=["clear_security_info"]
    )
    def clear_registrations(
        self, request: HttpRequest, queryset: QuerySet[User]
    ) -> HttpResponse | None:
        users = self._manageable(request, queryset)  # the action's permission checked the role
        if not users:
            return None
        if request.POST.get("post") != "yes":
            return self._clear_confirmation(request, users, from_action=True)
        self._clear(request, users)
        return None

    def _clear(self, request: HttpRequest, users: list[User]) -> None:
        include_contact = request.POST.get("include_contact") == "on"
        for user in users:
            admin_services.clear_security_info(
                actor=_actor(request),
                user=user,
                meta=request_meta(request),
                include_contact=include_contact,
            )
        count = len(users)
        self.message_user(
            request,
            ngettext(
                "Security info cleared for %d person: they must register again.",
                "Security info cleared for %d people: they must register again.",
                count,
            )
            % count,
            messages.SUCCESS,
        )

    def _clear_confirmation(
        self, request: HttpRequest, users: list[User], *, from_action: bool
    ) -> TemplateResponse:
        policy = get_sspr_policy()
        targets = [(u, registration_lines(get_registration_summary(u, policy))) for u in users]
        return TemplateResponse(
            request,
            "console/clear_security_info.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Clear security info registrations"),
                "opts": self.model._meta,
                "targets": targets,
                "from_action": from_action,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )


def block_line(block: ResetBlock) -> str:
    """The block in words: until when (local time) and which throttle tripped."""
    return str(
        _("Self-service reset blocked until %(time)s (reason: %(reason)s).")
        % {
            "time": date_format(localtime(block.blocked_until), "DATETIME_FORMAT"),
            "reason": block.reason_label,
        }
    )


_UNPROVEN = _("%(method)s: set by an administrator or imported, not proven by the person")
_PROVEN = _("%(method)s: proven by the person")


def registration_lines(info: RegistrationSummary) -> list[str]:
    """What is registered, in words, without any value, answer or secret."""
    lines: list[str] = []
    for status in info.methods:
        if status.kind == DataKind.AUTHENTICATOR_APP:
            lines.append(
                ngettext(
                    "Authenticator app: %(n)d confirmed",
                    "Authenticator apps: %(n)d confirmed",
                    info.confirmed_apps,
                )
                % {"n": info.confirmed_apps}
            )
        elif status.kind == DataKind.SECURITY_QUESTIONS:
            lines.append(str(_("Security questions: %(n)d answered") % {"n": info.answers}))
        else:
            lines.append(
                str((_PROVEN if status.proven else _UNPROVEN) % {"method": status.kind.label})
            )
    if DataKind.SECURITY_QUESTIONS not in info.kinds and info.answers:
        lines.append(
            str(
                _("Security questions: %(n)d of %(required)d answered, too few to count")
                % {"n": info.answers, "required": info.answers_required}
            )
        )
    return lines or [str(_("Nothing registered."))]
