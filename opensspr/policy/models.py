"""Organisation policy: password rules and expiry, and the self-service reset policy.

PasswordSettings: which rule profile, expiry, the custom banned list.

One row (pk=1), edited in the console. Absent a row, the defaults below apply,
so a fresh install is safe before anyone has opened the console.
"""

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinLengthValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from opensspr.accounts.models import Group
from opensspr.policy.helpdesk import HelpdeskKind, helpdesk_link_for
from opensspr.policy.passwords import PasswordProfile, validate_custom_banned_terms

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

#: Keys of the single-row settings in the per-request memo (``core/memo.py``).
SSPR_POLICY_KEY = "policy.sspr_policy"
PASSWORD_SETTINGS_KEY = "policy.password_settings"  # noqa: S105  # a cache key


class PasswordSettings(models.Model):
    profile = models.CharField(
        _("password rules"),
        max_length=32,
        choices=[
            (PasswordProfile.CLOUD.value, _("Cloud (8-256 characters, 3 of 4 character types)")),
            (PasswordProfile.NIST.value, _("NIST 800-63B-4 (length-based, no composition rules)")),
        ],
        default=PasswordProfile.CLOUD.value,
    )
    nist_min_length = models.PositiveSmallIntegerField(
        _("minimum length (NIST profile)"),
        default=15,
        validators=[MinValueValidator(8), MaxValueValidator(64)],
        help_text=_("15 when the password is the only factor; at least 8."),
    )
    passwords_expire = models.BooleanField(_("passwords expire"), default=True)
    expiry_days = models.PositiveSmallIntegerField(
        _("days before a password expires"),
        default=90,
        validators=[MinValueValidator(14), MaxValueValidator(730)],
    )
    custom_banned_terms = models.TextField(
        _("custom banned passwords"),
        blank=True,
        help_text=_("One term per line, 4 to 16 characters, at most 1000 terms."),
    )

    class Meta:
        verbose_name = _("password policy")
        verbose_name_plural = _("password policy")

    def __str__(self) -> str:
        return str(_("Password policy"))

    @property
    def banned_terms(self) -> tuple[str, ...]:
        return tuple(t.strip() for t in self.custom_banned_terms.splitlines() if t.strip())

    def clean(self) -> None:
        errors = validate_custom_banned_terms(self.banned_terms)
        if errors:
            raise ValidationError({"custom_banned_terms": errors})


# --- Self-service password reset (reference §2, §3) -------------------------------
# One row, created by a migration with SSPR switched off, so a fresh install resets
# nobody until an administrator decides. ``clean`` enforces what an administrator
# can get wrong: a group for "Selected", question counts, the app rules of §2.3.


class SsprScope(models.TextChoices):
    NONE = "none", _("None")
    SELECTED = "selected", _("Selected group")
    ALL = "all", _("All")


def _questions_field(label: "StrOrPromise", default: int) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        label, default=default, validators=[MinValueValidator(3), MaxValueValidator(5)]
    )


class SsprPolicy(models.Model):
    scope = models.CharField(
        _("self-service password reset enabled for"),
        max_length=10,
        choices=SsprScope.choices,
        default=SsprScope.NONE,
    )
    group = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("group"),
        help_text=_("Members, also through nested groups, may reset."),
    )
    methods_required = models.PositiveSmallIntegerField(
        _("number of methods required to reset"), choices=[(1, "1"), (2, "2")], default=1
    )
    allow_email = models.BooleanField(_("email"), default=True)
    allow_mobile_sms = models.BooleanField(_("mobile phone: text message"), default=True)
    allow_mobile_voice = models.BooleanField(_("mobile phone: voice call"), default=True)
    allow_office_voice = models.BooleanField(_("office phone: voice call"), default=False)
    allow_app_code = models.BooleanField(_("authenticator app code"), default=True)
    allow_app_notification = models.BooleanField(
        _("authenticator app notification"),
        default=False,
        help_text=_("Not available yet: arrives with push notifications."),
    )
    allow_security_questions = models.BooleanField(
        _("security questions"),
        default=False,
        help_text=_(
            "Weak: answers can often be guessed or found online. Never used by "
            "administrators, and enabling them breaks OWASP ASVS 6.4.2."
        ),
    )
    questions_to_register = _questions_field(_("number of questions required to register"), 5)
    questions_to_reset = _questions_field(_("number of questions required to reset"), 3)
    notify_users = models.BooleanField(_("notify users on password resets"), default=True)
    notify_admins = models.BooleanField(
        _("notify all administrators when other administrators reset their password"),
        default=True,
    )
    unlock_without_reset = models.BooleanField(
        _("allow users to unlock accounts without resetting their password"), default=True
    )
    admins_may_reset = models.BooleanField(
        _("administrators may use self-service password reset"),
        default=True,
        help_text=_("Administrators always need two methods and never security questions."),
    )
    helpdesk_contact = models.CharField(
        _("custom helpdesk email or URL"),
        max_length=512,
        blank=True,
        help_text=_(
            "Empty: “contact your administrator” emails the password and helpdesk "
            "administrators. A URL opens in a new tab; an email address opens a mail."
        ),
    )
    writeback_enabled = models.BooleanField(
        _("write back passwords to the on-premises directory"), default=False
    )
    registration_required = models.BooleanField(
        _("require users to register when signing in"),
        default=True,
        help_text=_(
            "People who can use self-service reset but haven't registered enough methods "
            "are asked to register after signing in. They may skip it; they are asked "
            "again at every sign-in."
        ),
    )
    reconfirm_days = models.PositiveSmallIntegerField(
        _("number of days before users are asked to reconfirm their authentication information"),
        default=180,
        validators=[MaxValueValidator(730)],
        help_text=_("0 to 730; 0 means never. Only used when registration is required."),
    )

    class Meta:
        verbose_name = _("self-service password reset policy")
        verbose_name_plural = _("self-service password reset policy")

    def __str__(self) -> str:
        return str(_("Self-service password reset policy"))

    def clean(self) -> None:
        errors: dict[str, list[StrOrPromise]] = {}
        if self.scope == SsprScope.SELECTED and self.group_id is None:
            errors.setdefault("group", []).append(_("Choose the group whose members may reset."))
        if self.questions_to_reset > self.questions_to_register:
            errors.setdefault("questions_to_reset", []).append(
                _("Can't ask more questions at reset than people register.")
            )
        contact = self.helpdesk_contact.strip()
        if contact and helpdesk_link_for(contact).kind == HelpdeskKind.REQUEST:
            errors.setdefault("helpdesk_contact", []).append(
                _("Enter an https:// address or an email address, or leave it empty.")
            )
        if self.allow_app_notification:
            errors.setdefault("allow_app_notification", []).append(
                _("App notifications are not available yet.")
            )
        errors_all = errors.setdefault("__all__", [])
        others = self._non_app_methods()
        app = self.allow_app_code or self.allow_app_notification
        if others + (1 if app else 0) < self.methods_required or (not app and not others):
            errors_all.append(_("Allow at least as many methods as are required to reset."))
        if app and others < self.methods_required:
            errors_all.append(
                _(
                    "The authenticator app can't be the only method: with %(n)d required, "
                    "allow at least %(n)d other method(s) too."
                )
                % {"n": self.methods_required}
            )
        if not errors_all:
            del errors["__all__"]
        if errors:
            raise ValidationError(errors)

    def _non_app_methods(self) -> int:
        """Distinct kinds of authentication data besides the app (mobile counts once)."""
        return sum(
            [
                self.allow_email,
                self.allow_mobile_sms or self.allow_mobile_voice,
                self.allow_office_voice,
                self.allow_security_questions,
            ]
        )


CUSTOM_QUESTIONS_MAX = 20


class CustomQuestion(models.Model):
    """A security question the organisation wrote itself, shown exactly as typed (§4.6).

    Custom questions are never translated. Deleting one also deletes the answers
    people registered for it (they are keyed "custom:<pk>"), which may leave some
    with too few answers: the impact preview shows who.
    """

    text = models.CharField(
        _("question"), max_length=200, validators=[MinLengthValidator(3)], unique=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("custom security question")
        verbose_name_plural = _("custom security questions")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.text
