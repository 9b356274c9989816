"""The helpdesk's actions on a person's console page.

Mixed into ``console.admin.accounts.UserAdmin``: issue or revoke a temporary
access pass, reset to a temporary password, unlock (in the directory too for
synced people), and the person's recent activity. Each action asks
``accounts.authority.may_act`` before showing anything and its service asks
again; each changing action confirms first (GET shows what will happen, POST
does it). A pass or password is rendered once in the POST's response, marked
``no-store``, and never put into messages (they live in the session).
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from opensspr.accounts.authority import HelpdeskAction, may_act
from opensspr.accounts.models import User
from opensspr.audit.person_activity import DAYS, list_recent_activity
from opensspr.console.admin_base import _actor
from opensspr.core.request_meta import request_meta
from opensspr.directory.base import DirectoryError
from opensspr.registration.access_passes import (
    PassState,
    get_access_pass,
    get_access_pass_policy,
    issue_access_pass,
    revoke_access_pass,
)
from opensspr.registration.models import PASS_LIFETIME_MIN, AccessPassPolicy
from opensspr.resets.admin_reset import unlock_account

#: Lifetimes offered, in minutes; only those up to the policy's maximum are shown.
LIFETIME_PRESETS = (10, 30, 60, 4 * 60, 8 * 60, 24 * 60, 7 * 24 * 60, 30 * 24 * 60)
PASS_STATE_LABELS = {
    PassState.ACTIVE: _("active"),
    PassState.USED: _("used (one-time)"),
    PassState.EXPIRED: _("expired"),
    PassState.REVOKED: _("revoked"),
}


def lifetime_label(minutes: int) -> str:
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


class IssuePassForm(forms.Form):
    lifetime_minutes = forms.TypedChoiceField(label=_("Valid for"), coerce=int)
    one_time = forms.BooleanField(
        label=_("One-time use"),
        required=False,
        help_text=_("A one-time pass works for one sign-in. Otherwise it works until it expires."),
    )

    def __init__(self, *args: Any, policy: AccessPassPolicy, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "lifetime_minutes": policy.default_lifetime_minutes,
                "one_time": policy.one_time_by_default,
            },
        )
        super().__init__(*args, **kwargs)
        ceiling = policy.max_lifetime_minutes
        offered = {m for m in LIFETIME_PRESETS if PASS_LIFETIME_MIN <= m <= ceiling}
        offered |= {policy.default_lifetime_minutes, ceiling}
        field = self.fields["lifetime_minutes"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(m, lifetime_label(m)) for m in sorted(offered)]


def describe_pass(user: User) -> str:
    """The person's pass in words for their page: state, use and expiry; never the pass."""
    found = get_access_pass(user)
    if found is None:
        return str(_("No temporary access pass."))
    access_pass, state = found
    values = {
        "state": PASS_STATE_LABELS[state],
        "kind": _("one-time") if access_pass.one_time else _("multi-use"),
        "time": date_format(localtime(access_pass.expires_at), "DATETIME_FORMAT"),
    }
    return str(_("Temporary access pass: %(state)s, %(kind)s, expires %(time)s") % values)


class HelpdeskAdminMixin(admin.ModelAdmin):
    """Helpdesk pages of a person; holds no other behaviour."""

    def get_urls(self) -> list[URLPattern]:
        routes = [
            ("access-pass/", self.access_pass_view, "access_pass"),
            ("access-pass/revoke/", self.revoke_pass_view, "revoke_access_pass"),
            ("temporary-password/", self.temporary_password_view, "temporary_password"),
            ("unlock/", self.unlock_view, "unlock"),
            ("activity/", self.activity_view, "activity"),
        ]
        ours = [
            path(
                f"<path:object_id>/helpdesk/{route}",
                self.admin_site.admin_view(view),
                name=f"accounts_user_helpdesk_{name}",
            )
            for route, view, name in routes
        ]
        return [*ours, *super().get_urls()]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        target = self.get_object(request, unquote(object_id))
        helpdesk = target is not None and may_act(
            _actor(request), target, HelpdeskAction.ACCESS_PASS
        )
        found = get_access_pass(target) if helpdesk and target else None
        context = {
            **(extra_context or {}),
            "helpdesk": helpdesk,
            "access_pass_line": describe_pass(target) if helpdesk and target else "",
            "access_pass_active": found is not None and found[1] == PassState.ACTIVE,
        }
        return super().change_view(request, object_id, form_url, context)

    def issue_temporary_password_page(self, request: HttpRequest, user: User) -> HttpResponse:
        raise NotImplementedError  # the user admin's: shared with its bulk action

    def lockout_status(self, obj: User) -> str:
        raise NotImplementedError  # the user admin's read-only field, in words

    # --- helpers ------------------------------------------------------------------------

    def _target(self, request: HttpRequest, object_id: str, action: HelpdeskAction) -> User:
        target = self.get_object(request, unquote(object_id))
        if target is None:
            raise Http404
        if not may_act(_actor(request), target, action):
            raise PermissionDenied
        return target

    def _page_url(self, target: User) -> str:
        return reverse(
            "admin:accounts_user_change", args=[target.pk], current_app=self.admin_site.name
        )

    def _render(
        self, request: HttpRequest, template: str, target: User, **context: Any
    ) -> TemplateResponse:
        response = TemplateResponse(
            request,
            f"console/{template}.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "target": target,
                "back_url": self._page_url(target),
                **context,
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    # --- temporary access pass ------------------------------------------------------------

    def access_pass_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Confirm and issue (POST shows the pass once); the current pass is shown beside."""
        target = self._target(request, object_id, HelpdeskAction.ACCESS_PASS)
        policy = get_access_pass_policy()
        form = IssuePassForm(request.POST or None, policy=policy)
        if request.method == "POST" and form.is_valid():
            try:
                issued = issue_access_pass(
                    actor=_actor(request),
                    user=target,
                    lifetime_minutes=form.cleaned_data["lifetime_minutes"],
                    one_time=form.cleaned_data["one_time"],
                    meta=request_meta(request),
                )
            except ValidationError as exc:
                form.add_error("lifetime_minutes", exc)
            else:
                return self._render(
                    request,
                    "access_pass_issued",
                    target,
                    title=_("Temporary access pass"),
                    issued=issued,
                    expires=date_format(localtime(issued.expires_at), "DATETIME_FORMAT"),
                )
        found = get_access_pass(target)
        return self._render(
            request,
            "access_pass",
            target,
            title=_("Issue a temporary access pass"),
            form=form,
            current=describe_pass(target),
            replaces=found is not None and found[1] == PassState.ACTIVE,
        )

    def revoke_pass_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        target = self._target(request, object_id, HelpdeskAction.ACCESS_PASS)
        if request.method == "POST":
            if revoke_access_pass(actor=_actor(request), user=target, meta=request_meta(request)):
                self.message_user(
                    request,
                    _("The temporary access pass of %(user)s was revoked.") % {"user": target},
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request, _("%(user)s has no active temporary access pass.") % {"user": target}
                )
            return HttpResponseRedirect(self._page_url(target))
        return self._render(
            request,
            "helpdesk_confirm",
            target,
            title=_("Revoke the temporary access pass"),
            lines=[
                describe_pass(target),
                _("The pass stops working at once, and a session opened with it ends."),
            ],
            submit=_("Revoke the pass"),
        )

    # --- temporary password and unlock ----------------------------------------------------

    def temporary_password_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        target = self._target(request, object_id, HelpdeskAction.TEMPORARY_PASSWORD)
        if request.method == "POST":
            return self.issue_temporary_password_page(request, target)
        return self._render(
            request,
            "helpdesk_confirm",
            target,
            title=_("Reset password to a temporary password"),
            lines=temporary_password_lines(target),
            submit=_("Reset the password"),
        )

    def unlock_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        target = self._target(request, object_id, HelpdeskAction.UNLOCK)
        synced = target.source == "synced"
        if request.method == "POST":
            try:
                unlock_account(actor=_actor(request), user=target, meta=request_meta(request))
            except DirectoryError as exc:
                self.message_user(
                    request,
                    _(
                        "The on-premises directory didn't unlock %(user)s (%(code)s), so "
                        "nothing was changed. The directory check on the on-premises "
                        "directory page names the cause."
                    )
                    % {"user": target, "code": exc.code},
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request, _("%(user)s was unlocked.") % {"user": target}, messages.SUCCESS
                )
            return HttpResponseRedirect(self._page_url(target))
        lines = [
            self.lockout_status(target),
            _("Failed sign-ins are forgotten and a sign-in lockout ends at once."),
        ]
        if synced:
            lines.append(_("The account is unlocked in the on-premises directory too."))
        return self._render(
            request,
            "helpdesk_confirm",
            target,
            title=_("Unlock the account"),
            lines=lines,
            submit=_("Unlock"),
        )

    # --- activity -------------------------------------------------------------------------

    def activity_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        target = self._target(request, object_id, HelpdeskAction.VIEW_ACTIVITY)
        return self._render(
            request,
            "user_activity",
            target,
            title=_("Recent activity of %(user)s") % {"user": target},
            events=list_recent_activity(target),
            days=DAYS,
        )


def temporary_password_lines(target: User) -> list[Any]:
    lines = [
        _(
            "A new random password replaces the current one. It is shown once, on the next "
            "page; the person must choose their own password when they next sign in."
        ),
        _("Their current password stops working at once."),
    ]
    if target.source == "synced":
        lines.append(_("The password is written to the on-premises directory."))
    return lines
