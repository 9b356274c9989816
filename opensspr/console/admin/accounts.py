"""Console pages for the directory: users, groups, roles and the organisation.

The user page also shows what the person registered for self-service reset and
lets authentication administrators clear it (``console.admin.security_info``).
Authentication email and phones typed here are written through
``registration.admin_services``, which drops the person's proof of the old value.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from opensspr.accounts.authority import HelpdeskAction, may_act
from opensspr.accounts.identifiers import identifier_key
from opensspr.accounts.models import Group, RoleAssignment, User
from opensspr.accounts.phones import normalise_phone
from opensspr.accounts.selectors import can_manage_user, group_would_cycle
from opensspr.console.admin.helpdesk import HelpdeskAdminMixin, temporary_password_lines
from opensspr.console.admin.security_info import SecurityInfoAdminMixin
from opensspr.console.admin_base import AuditedModelAdmin, _actor
from opensspr.console.site import console_site
from opensspr.core import clock
from opensspr.core.request_meta import request_meta
from opensspr.directory.base import DirectoryError, DirectoryUnavailableError
from opensspr.registration import admin_services
from opensspr.registration.admin_services import CONTACT_FIELDS
from opensspr.resets.admin_reset import issue_temporary_password, unlock_account
from opensspr.signin import lockout


class UserForm(forms.ModelForm):
    class Meta:
        model = User
        fields = (
            "user_id",
            "display_name",
            "given_name",
            "surname",
            "email",
            "auth_email",
            "mobile_phone",
            "office_phone",
            "account_enabled",
            "sspr_licensed",
            "user_type",
            "guest_kind",
            "password_never_expires",
            "must_change_password",
        )

    def clean_mobile_phone(self) -> str:
        return normalise_phone(self.cleaned_data.get("mobile_phone", ""))

    def clean_office_phone(self) -> str:
        return normalise_phone(self.cleaned_data.get("office_phone", ""))

    def validate_unique(self) -> None:
        super().validate_unique()
        key = identifier_key(self.cleaned_data.get("user_id", ""))
        clash = User.objects.filter(user_id_key=key).exclude(pk=self.instance.pk)
        if key and clash.exists():
            self.add_error("user_id", _("A user with this user ID already exists."))


class RoleInline(admin.StackedInline):
    """Roles are granted and removed by global administrators only.

    Stacked, not tabular: each field keeps its own label, which a screen reader needs
    (a tabular inline labels its fields only by the column header).
    """

    model = RoleAssignment
    extra = 0
    verbose_name = _("administrator role")
    verbose_name_plural = _("administrator roles")  # else Django adds an English "s"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)


class AdministratorFilter(admin.SimpleListFilter):
    title = _("administrator")
    parameter_name = "admin"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        if self.value() == "yes":
            return queryset.filter(role_assignments__isnull=False).distinct()
        if self.value() == "no":
            return queryset.filter(role_assignments__isnull=True)
        return queryset


@admin.register(User, site=console_site)
class UserAdmin(SecurityInfoAdminMixin, HelpdeskAdminMixin, AuditedModelAdmin):
    form = UserForm
    inlines = (RoleInline,)
    list_display = ("user_id", "display_name", "user_type", "account_enabled", "password_last_set")
    list_filter = ("account_enabled", "sspr_licensed", "source", "user_type", AdministratorFilter)
    search_fields = ("user_id", "display_name", "email")
    # Source and DN are sync's alone: a DN is where a reset writes a password.
    readonly_fields = (
        "source",
        "on_premises_dn",
        "password_last_set",
        "last_login",
        "created_at",
        "lockout_status",
        "security_info",
    )
    actions = ("unlock_accounts", "reset_with_temporary_password", "clear_registrations")
    change_form_template = "console/user_change_form.html"
    fieldsets = (
        (None, {"fields": ("user_id", "display_name", "given_name", "surname")}),
        (
            _("Contact and authentication data"),
            {"fields": ("email", "auth_email", "mobile_phone", "office_phone")},
        ),
        (_("Security info"), {"fields": ("security_info",)}),
        (
            _("Account"),
            {
                "fields": (
                    "account_enabled",
                    "sspr_licensed",
                    "user_type",
                    "guest_kind",
                    "source",
                    "on_premises_dn",
                )
            },
        ),
        (
            _("Password"),
            {
                "fields": (
                    "password_never_expires",
                    "must_change_password",
                    "password_last_set",
                    "lockout_status",
                    "last_login",
                    "created_at",
                )
            },
        ),
    )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or can_manage_user(_actor(request), obj))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or can_manage_user(_actor(request), obj))

    def _manageable(
        self,
        request: HttpRequest,
        queryset: QuerySet[User],
        action: HelpdeskAction | None = None,
    ) -> list[User]:
        """The selected people the actor may act on: helpdesk actions by their rule."""
        users = list(queryset)
        actor = _actor(request)
        allowed = [
            u for u in users if (may_act(actor, u, action) if action else can_manage_user(actor, u))
        ]
        if len(allowed) < len(users):
            self.message_user(
                request,
                _(
                    "Your role doesn't reach some of the selected people (administrators "
                    "with a higher role, or yourself); those were left unchanged."
                ),
                messages.WARNING,
            )
        return allowed

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """Authentication email and phones go through their service; the rest as usual."""
        contact = {n: form.cleaned_data[n] for n in CONTACT_FIELDS if n in form.changed_data}
        if not (change and contact):
            super().save_model(request, obj, form, change)
            return
        stored = User.objects.filter(pk=obj.pk).values(*contact).get()
        with transaction.atomic():
            for name, value in stored.items():
                setattr(obj, name, value)  # written (and proof dropped) by the service below
            super().save_model(request, obj, form, change)
            admin_services.set_authentication_contact(
                actor=_actor(request), user=obj, values=contact, meta=request_meta(request)
            )

    @admin.display(description=_("sign-in lockout"))
    def lockout_status(self, obj: User) -> str:
        now = clock.now()
        states = [lockout.get_lock_state(k) for k in lockout.all_keys(identifier_key(obj.user_id))]
        locked = [s for s in states if s.is_locked(now)]
        if locked:
            state = max(locked, key=lambda s: s.locked_until or now)
            until = date_format(localtime(state.locked_until), "DATETIME_FORMAT")
            return str(_("Locked until %(time)s") % {"time": until})
        return str(_("Not locked"))

    @admin.action(description=_("Unlock selected accounts"), permissions=["change"])
    def unlock_accounts(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        users = self._manageable(request, queryset, HelpdeskAction.UNLOCK)
        count = 0
        for user in users:
            try:
                unlock_account(actor=_actor(request), user=user, meta=request_meta(request))
                count += 1
            except DirectoryError as exc:
                self.message_user(
                    request,
                    _("The on-premises directory didn't unlock %(user)s (%(code)s).")
                    % {"user": user, "code": exc.code},
                    messages.ERROR,
                )
        self.message_user(
            request,
            ngettext("%d account unlocked.", "%d accounts unlocked.", count) % count,
            messages.SUCCESS,
        )

    @admin.action(description=_("Reset password to a temporary password"), permissions=["change"])
    def reset_with_temporary_password(
        self, request: HttpRequest, queryset: QuerySet[User]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one user."), messages.ERROR)
            return None
        users = self._manageable(request, queryset, HelpdeskAction.TEMPORARY_PASSWORD)
        if not users:
            return None
        if request.POST.get("post") != "yes":  # confirm first, on the same action
            return TemplateResponse(
                request,
                "console/helpdesk_confirm.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.model._meta,
                    "target": users[0],
                    "title": _("Reset password to a temporary password"),
                    "lines": temporary_password_lines(users[0]),
                    "submit": _("Reset the password"),
                    "from_action": "reset_with_temporary_password",
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                    "back_url": reverse("admin:accounts_user_changelist"),
                },
            )
        return self.issue_temporary_password_page(request, users[0])

    def issue_temporary_password_page(self, request: HttpRequest, user: User) -> HttpResponse:
        """Set the temporary password and show it once (or say why the directory refused)."""
        try:
            password = issue_temporary_password(
                actor=_actor(request), user=user, meta=request_meta(request)
            )
        except DirectoryUnavailableError:
            self.message_user(
                request,
                _(
                    "The directory that holds this user's password can't be reached or isn't "
                    "configured, so no temporary password was set."
                ),
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))
        except DirectoryError as exc:
            self.message_user(
                request,
                _(
                    "The on-premises directory refused a temporary password for this user "
                    "(%(code)s), so nothing was changed. Its policy or the service account's "
                    "rights don't allow it: the directory check on the on-premises directory "
                    "page names the cause."
                )
                % {"code": exc.code},
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))
        # Rendered once in this response; never put into messages (they live in the session).
        response = TemplateResponse(
            request,
            "console/temporary_password.html",
            {
                **self.admin_site.each_context(request),
                "target": user,
                "password": password,
                "title": _("Temporary password"),
            },
        )
        response["Cache-Control"] = "no-store"
        return response


class GroupForm(forms.ModelForm):
    class Meta:
        model = Group
        fields = ("name", "description", "members", "member_groups")

    def clean_member_groups(self) -> Any:
        children = list(self.cleaned_data.get("member_groups") or [])
        if self.instance.pk and group_would_cycle(self.instance, children):
            raise ValidationError(
                _("A group can't contain itself, directly or through other groups.")
            )
        return self.cleaned_data.get("member_groups")


@admin.register(Group, site=console_site)
class GroupAdmin(AuditedModelAdmin):
    form = GroupForm
    list_display = ("name", "description")
    search_fields = ("name",)
    # Searched, not listed: an organisation can have a million people, and Django's
    # two-list widget puts every one of them in the page (and fails axe).
    autocomplete_fields = ("members", "member_groups")

    class Media:
        js = ("opensspr/select2-labels.js",)
