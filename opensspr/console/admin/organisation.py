"""The organisation page: its name, its look on the portal and its emails' closing words.

The logo is checked as a PNG before it is kept (``accounts.branding``); the audit records
its description, never its bytes. The email preview shows a "your password was reset"
email as sent, and follows the closing words as they are typed (``email-preview.js``).
"""

from django import forms
from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from opensspr.accounts.branding import MAX_LOGO_BYTES, check_logo
from opensspr.accounts.models import Organisation
from opensspr.accounts.selectors import get_organisation
from opensspr.channels.services import with_closing
from opensspr.console.admin_base import SingletonAdmin
from opensspr.console.site import console_site
from opensspr.resets.flow.notify import person_notification


class OrganisationForm(forms.ModelForm):
    """The organisation, its look and its emails' closing words; the logo checked as a PNG."""

    logo = forms.FileField(
        label=_("Logo (PNG)"),
        required=False,
        help_text=_(
            "Shown in the portal's top bar instead of the name; up to 200 KB and 1200 by "
            "400 pixels."
        ),
    )
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)

    class Meta:
        model = Organisation
        fields = ("name", "brand_colour", "email_closing")

    def clean_logo(self) -> str:
        """The PNG is kept aside; the form's value is its description (what the audit shows)."""
        upload = self.cleaned_data.get("logo")
        self.logo_png: bytes | None = None
        if not upload:
            return ""
        data = upload.read(MAX_LOGO_BYTES + 1)
        width, height = check_logo(data)
        self.logo_png = data
        return f"PNG {width}x{height}, {len(data) // 1024 + 1} KB"

    def save(self, commit: bool = True) -> Organisation:
        organisation = super().save(commit=False)
        if self.cleaned_data.get("remove_logo"):
            organisation.logo_png = None
        elif self.logo_png:
            organisation.logo_png = self.logo_png
        if commit:
            organisation.save()
        return organisation


@admin.register(Organisation, site=console_site)
class OrganisationAdmin(SingletonAdmin):
    audit_values = True
    form = OrganisationForm
    list_display = ("name",)
    fields = (
        "name",
        "brand_colour",
        "logo",
        "remove_logo",
        "email_closing",
        "email_preview",
    )
    readonly_fields = ("email_preview",)

    class Media:
        js = ("opensspr/email-preview.js",)

    @admin.display(description=_("preview"))
    def email_preview(self, obj: Organisation | None) -> str:
        """One email as a person gets it, closing words included; it follows the text above
        as it is typed (``email-preview.js``), before anything is saved."""
        name = obj.name if obj and obj.name else get_organisation().name
        subject, body = person_notification("jan.jansen@example.org", name, unlocked=False)
        closing = obj.email_closing if obj else ""
        return format_html(
            '<div class="email-preview" aria-live="polite"><p><strong>{}</strong> {}</p>'
            '<pre id="email-preview-body">{}<span id="email-preview-closing">{}</span></pre>'
            "</div>",
            _("Subject:"),
            subject,
            body,
            with_closing("", closing),
        )
