"""The gate challenge keeps the shared code-challenge state (``methods.CodeChallengeState``)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("resets", "0004_help_requests")]

    operations = [
        migrations.RenameField("challenge", "attempts", "tries"),
        migrations.RenameField("challenge", "confirmed_at", "answered_at"),
    ]
