"""The console form for the channel settings: secrets are write-only.

A stored token or secret is never rendered back (not even masked); an empty
field keeps what is stored. Typed values are sealed before the model validates,
so "a chosen provider has its credentials" sees them.
"""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from opensspr.accounts.phones import normalise_phone
from opensspr.channels.models import ChannelSettings
from opensspr.core.crypto import seal

_STORED = _("A value is stored. Leave empty to keep it; type a new one to replace it.")
_NOT_STORED = _("Nothing stored yet.")
#: write-only form field -> the model field holding it sealed
SECRET_FIELDS = {
    "twilio_auth_token": "twilio_auth_token_sealed",
    "webhook_secret": "webhook_secret_sealed",
}


def _secret_field(label: Any, min_length: int) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        min_length=min_length,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class ChannelSettingsForm(forms.ModelForm):
    twilio_auth_token = _secret_field(_("Twilio auth token"), 16)
    webhook_secret = _secret_field(_("Webhook signing secret"), 32)

    class Meta:
        model = ChannelSettings
        fields = (
            "email_channel",
            "sms_channel",
            "voice_channel",
            "twilio_account_sid",
            "twilio_sms_from",
            "twilio_voice_from",
            "webhook_url",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field, sealed in SECRET_FIELDS.items():
            stored = bool(getattr(self.instance, sealed, ""))
            self.fields[field].help_text = _STORED if stored else _NOT_STORED

    def clean_twilio_sms_from(self) -> str:
        return normalise_phone(self.cleaned_data["twilio_sms_from"])

    def clean_twilio_voice_from(self) -> str:
        return normalise_phone(self.cleaned_data["twilio_voice_from"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for field, sealed in SECRET_FIELDS.items():
            value = cleaned.get(field)
            if value:
                setattr(self.instance, sealed, seal(value))
        return cleaned
