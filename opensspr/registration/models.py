"""Bookkeeping of a person's security info: when it was last confirmed, what they proved.

The registered data itself lives where the reset flow reads it: email and phone
numbers on the directory user (an administrator may set them too, reference
§8.3), apps and answers in ``methods``. This row says which of those values the
person proved themselves (an administrator's entry is usable but unproven) and
when they last confirmed the whole set, which drives reconfirmation (§8.4).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RegistrationState(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="registration_state"
    )
    # Last time the person registered or reconfirmed their info; null: never.
    confirmed_at = models.DateTimeField(_("last confirmed"), null=True, blank=True)
    # When the person proved the value now stored; cleared when an administrator sets it.
    auth_email_proven_at = models.DateTimeField(null=True, blank=True)
    mobile_phone_proven_at = models.DateTimeField(null=True, blank=True)
    office_phone_proven_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("registration state")
        verbose_name_plural = _("registration states")

    def __str__(self) -> str:
        return f"registration of {self.user}"
