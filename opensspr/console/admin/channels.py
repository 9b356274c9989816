"""Console pages: the channel settings (one row) and a read-only view of the outbox.

Neither ever shows a body, a code or a stored secret. Changes are audited by
``AuditedModelAdmin`` with field names only (``audit_values = False``): the
values include credentials.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from opensspr.channels.forms import ChannelSettingsForm
from opensspr.channels.models import ChannelSettings, Message
from opensspr.console.admin_base import SingletonAdmin
from opensspr.console.site import console_site


@admin.register(ChannelSettings, site=console_site)
class ChannelSettingsAdmin(SingletonAdmin):
    audit_values = False  # the form carries credentials
    form = ChannelSettingsForm
    fieldsets = (
        (None, {"fields": ("email_channel", "sms_channel", "voice_channel")}),
        (
            "Twilio",
            {
                "fields": (
                    "twilio_account_sid",
                    "twilio_auth_token",
                    "twilio_sms_from",
                    "twilio_voice_from",
                )
            },
        ),
        ("Webhook", {"fields": ("webhook_url", "webhook_secret")}),
    )


@admin.register(Message, site=console_site)
class MessageAdmin(admin.ModelAdmin):
    """What was sent, when, through which channel, and what went wrong. Read-only."""

    list_display = (
        "created_at",
        "kind",
        "purpose",
        "recipient_masked",
        "status",
        "provider",
        "attempts",
        "last_error",
    )
    list_filter = ("status", "kind", "provider")
    fields = (
        "kind",
        "purpose",
        "recipient_masked",
        "status",
        "provider",
        "provider_ref",
        "attempts",
        "last_error",
        "created_at",
        "next_attempt_at",
        "expires_at",
        "sent_at",
        "correlation_id",
    )
    readonly_fields = fields
    ordering = ("-created_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
