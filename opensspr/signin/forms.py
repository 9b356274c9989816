"""Sign-in and password-change forms: field shape only; the services decide."""

from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# Long enough for any real password or passphrase (ASVS 6.2.9), short enough
# that nobody can make us hash megabytes (CVE-2013-1443).
PASSWORD_MAX = 1024


def _password_field(label: "StrOrPromise", autocomplete: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=PASSWORD_MAX,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


class SignInForm(forms.Form):
    user_id = forms.CharField(
        label=_("User ID"),
        max_length=256,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "username",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
                "placeholder": _("someone@example.org"),
            }
        ),
    )
    password = _password_field(_("Password"), "current-password")


class ChangePasswordForm(forms.Form):
    current_password = _password_field(_("Current password"), "current-password")
    new_password = _password_field(_("New password"), "new-password")
    confirm_password = _password_field(_("Confirm new password"), "new-password")

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        new, confirm = cleaned.get("new_password"), cleaned.get("confirm_password")
        if new is not None and confirm is not None and new != confirm:
            self.add_error("confirm_password", _("The two new passwords don't match."))
        return cleaned
