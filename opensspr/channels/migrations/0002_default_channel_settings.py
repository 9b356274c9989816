"""Create the delivery-channel settings row with the defaults (every kind to the outbox),
so the console opens it for editing instead of asking an administrator to "add" one."""

from django.db import migrations


def create_defaults(apps, schema_editor):
    ChannelSettings = apps.get_model("channels", "ChannelSettings")
    ChannelSettings.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("channels", "0001_initial")]
    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
