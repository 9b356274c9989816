"""Create the organisation's password-policy row with the defaults, so the console
opens it for editing instead of asking an administrator to "add" a policy."""

from django.db import migrations


def create_defaults(apps, schema_editor):
    PasswordSettings = apps.get_model("policy", "PasswordSettings")
    PasswordSettings.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("policy", "0002_nist_help_text")]
    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
