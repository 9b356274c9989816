"""The built-in directory: organisation, users, groups and administrator roles.

This is the store Entra calls the cloud directory. Users synchronised from an
on-premises directory live here too (``source = synced``, with their DN), but
their password is owned by that directory. Every write goes through
``accounts.services``; models only describe data and its invariants.
"""

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from opensspr.accounts.branding import check_brand_colour
from opensspr.accounts.identifiers import identifier_key, validate_user_id
from opensspr.accounts.roles import AdminRole, role_allows, role_touches_app

#: The organisation row's key in the per-request memo (``core/memo.py``).
ORGANISATION_KEY = "accounts.organisation"


class Organisation(models.Model):
    """The one organisation this deployment serves (single-tenant, see ADR 0002)."""

    name = models.CharField(_("name"), max_length=120)
    email_closing = models.TextField(
        _("closing words of every email"),
        max_length=600,
        blank=True,
        help_text=_(
            "Added under every email people get from self-service password reset: codes, "
            "notifications, reminders. For example how to reach your helpdesk, or that you "
            "never ask for a code by phone. Plain text, up to 600 characters, sent as typed "
            "in every language."
        ),
    )
    brand_colour = models.CharField(
        _("brand colour"),
        max_length=7,
        blank=True,
        validators=[check_brand_colour],
        help_text=_(
            "The portal's links and buttons, as #rrggbb; empty for the default blue. It "
            "carries white text, so it must be dark enough to read (contrast 4.5:1)."
        ),
    )
    # A PNG the portal shows in its top bar (accounts/branding.py checks it); never SVG,
    # which can carry a script.
    logo_png = models.BinaryField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisation")

    def __str__(self) -> str:
        return self.name


class UserSource(models.TextChoices):
    CLOUD = "cloud", _("Cloud (built-in directory)")
    SYNCED = "synced", _("Synchronised from on-premises")


class UserType(models.TextChoices):
    MEMBER = "member", _("Member")
    GUEST = "guest", _("Guest")


class GuestKind(models.TextChoices):
    NONE = "", _("Not a guest")
    B2B_PARTNER = "b2b_partner", _("B2B partner organisation")
    SELF_SERVICE_SIGNUP = "self_service_signup", _("Self-service sign-up")
    PERSONAL_ACCOUNT = "personal_account", _("Personal external account")


#: Guests whose primary address is a mailbox of their own: it resets their password (§11).
GUESTS_RESET_WITH_PRIMARY = frozenset({GuestKind.B2B_PARTNER, GuestKind.SELF_SERVICE_SIGNUP})


class UserManager(BaseUserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(user_id_key=identifier_key(username or ""))


class User(AbstractBaseUser):
    user_id = models.CharField(
        _("user ID"),
        max_length=113,
        unique=True,
        validators=[validate_user_id],
        help_text=_("The name people sign in with, for example jan.jansen@example.org."),
    )
    user_id_key = models.CharField(max_length=256, unique=True, editable=False)
    display_name = models.CharField(_("display name"), max_length=256)
    given_name = models.CharField(_("given name"), max_length=64, blank=True)
    surname = models.CharField(_("surname"), max_length=64, blank=True)
    email = models.EmailField(_("primary email"), blank=True)
    auth_email = models.EmailField(
        _("authentication email"),
        blank=True,
        help_text=_("Alternate address used to verify a password reset."),
    )
    mobile_phone = models.CharField(_("mobile phone"), max_length=20, blank=True)
    office_phone = models.CharField(_("office phone"), max_length=20, blank=True)
    source = models.CharField(
        _("source"), max_length=10, choices=UserSource.choices, default=UserSource.CLOUD
    )
    on_premises_dn = models.CharField(_("on-premises DN"), max_length=1024, blank=True)
    user_type = models.CharField(
        _("user type"), max_length=10, choices=UserType.choices, default=UserType.MEMBER
    )
    guest_kind = models.CharField(
        _("guest invited as"), max_length=24, choices=GuestKind.choices, blank=True, default=""
    )
    account_enabled = models.BooleanField(_("account enabled"), default=True)
    sspr_licensed = models.BooleanField(_("SSPR licence assigned"), default=True)
    password_last_set = models.DateTimeField(_("password last set"), null=True, blank=True)
    password_never_expires = models.BooleanField(_("password never expires"), default=False)
    must_change_password = models.BooleanField(
        _("must change password at next sign-in"), default=False
    )
    temporary_password_expires_at = models.DateTimeField(
        _("temporary password expires"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created"), db_default=Now(), editable=False)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "user_id"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["display_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ("user_id_key",)
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user_type="guest") | models.Q(guest_kind=""),
                name="accounts_user_guest_kind_only_for_guests",
            ),
            models.CheckConstraint(
                condition=~models.Q(source="synced") | ~models.Q(on_premises_dn=""),
                name="accounts_user_synced_has_dn",
            ),
        ]

    def __str__(self) -> str:
        return self.user_id

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.user_id_key = identifier_key(self.user_id)
        super().save(*args, **kwargs)

    # --- Django auth integration (is_active gates sessions and the console) ---
    @property
    def reset_email(self) -> str:
        """Where an email reset code may go: the authentication email; for a B2B or self-service
        sign-up guest without one, their primary address, which is their own mailbox (the one
        invited, or signed up with), not one of ours (reference §11). '' when there is none."""
        if self.auth_email:
            return self.auth_email
        if self.user_type == UserType.GUEST and self.guest_kind in GUESTS_RESET_WITH_PRIMARY:
            return self.email
        return ""

    @property
    def is_active(self) -> bool:  # type: ignore[override]  # Django reads it as an attribute
        return self.account_enabled

    def _role_set(self) -> set[str]:
        cached: set[str] | None = getattr(self, "_roles_cache", None)
        if cached is None:
            cached = set(self.role_assignments.values_list("role", flat=True))
            self._roles_cache = cached
        return cached

    @property
    def admin_roles(self) -> set[str]:
        return self._role_set()

    @property
    def is_administrator(self) -> bool:
        """Holds any administrator role: the strict two-gate SSPR policy applies."""
        return bool(self._role_set())

    @property
    def is_staff(self) -> bool:
        return self.account_enabled and self.is_administrator

    @property
    def is_superuser(self) -> bool:
        return self.account_enabled and AdminRole.GLOBAL in self._role_set()

    def has_perm(self, perm: str, obj: object = None) -> bool:
        if not self.is_staff:
            return False
        app_label, _dot, codename = perm.partition(".")
        action, _sep, model = codename.partition("_")
        return role_allows(self._role_set(), app_label, model or None, action)

    def has_perms(self, perm_list: Any, obj: object = None) -> bool:
        return all(self.has_perm(p, obj) for p in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_staff and role_touches_app(self._role_set(), app_label)


class RoleAssignment(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("role"), max_length=40, choices=AdminRole.choices)
    assigned_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        verbose_name = _("administrator role")
        verbose_name_plural = _("administrator roles")
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="accounts_role_once")]

    def __str__(self) -> str:
        return f"{self.user}: {self.get_role_display()}"


class Group(models.Model):
    """A directory group. Groups may contain groups; membership is transitive."""

    name = models.CharField(_("name"), max_length=128, unique=True)
    description = models.CharField(_("description"), max_length=512, blank=True)
    members = models.ManyToManyField(
        User, blank=True, related_name="directory_groups", verbose_name=_("members")
    )
    member_groups = models.ManyToManyField(
        "self",
        blank=True,
        symmetrical=False,
        related_name="parent_groups",
        verbose_name=_("member groups"),
    )

    class Meta:
        verbose_name = _("group")
        verbose_name_plural = _("groups")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name
