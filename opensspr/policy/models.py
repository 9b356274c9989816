"""Organisation password policy: which rule profile, expiry, the custom banned list.

One row (pk=1), edited in the console. Absent a row, the defaults below apply,
so a fresh install is safe before anyone has opened the console.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from opensspr.policy.passwords import PasswordProfile, validate_custom_banned_terms


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
