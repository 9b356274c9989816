"""The console form for the on-premises directory: the service account's password is write-only.

A stored password is never rendered back (not even masked); an empty field
keeps what is stored. A typed one is sealed (``core.crypto.seal``) before the
model is saved, and never reaches an audit row (the admin audits field names).
"""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from opensspr.core.crypto import seal
from opensspr.directory.models import DirectorySettings

_STORED = _("A value is stored. Leave empty to keep it; type a new one to replace it.")
_NOT_STORED = _("Nothing stored yet.")


class DirectorySettingsForm(forms.ModelForm):
    bind_password = forms.CharField(
        label=_("service account password"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = DirectorySettings
        fields = (
            "enabled",
            "kind",
            "urls",
            "tls_mode",
            "ca_certificate",
            "server_name",
            "bind_dn",
            "base_dn",
            "user_ous",
            "user_filter",
            "group_ous",
            "group_filter",
            "user_id_attribute",
            "user_id_suffix",
            "display_name_attribute",
            "given_name_attribute",
            "surname_attribute",
            "email_attribute",
            "mobile_phone_attribute",
            "office_phone_attribute",
            "disabled_attribute",
            "disabled_value",
            "group_name_attribute",
            "member_attribute",
            "ppolicy_default_dn",
            "ad_policy_hints",
            "sync_interval_minutes",
            "full_sync_interval_hours",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stored = bool(self.instance.bind_password_sealed)
        self.fields["bind_password"].help_text = _STORED if stored else _NOT_STORED

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if value := cleaned.get("bind_password"):
            self.instance.bind_password_sealed = seal(value)
        return cleaned
