"""Create the SSPR policy row with safe defaults: switched off until an administrator decides."""

from django.db import migrations


def create_defaults(apps, schema_editor):
    apps.get_model("policy", "SsprPolicy").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("policy", "0004_sspr_policy")]
    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
