"""A subject's uses move into its row (``Subject.uses``), and the ``Use`` table goes.

Every use inside the longest window is carried over, and every use of a row still in
its quiet window (smart lockout counts until a whole day passes without a failure), so
upgrading lifts no limit (F12's spirit); older ones count for nothing and are left
behind.
"""

from django.db import migrations, models
from django.db.models import Q

from opensspr.core import clock
from opensspr.throttles import uses as stored


def carry_uses(apps, schema_editor):
    subject_model = apps.get_model("throttles", "Subject")
    use_model = apps.get_model("throttles", "Use")
    since = clock.now() - stored.LONGEST_WINDOW
    carried: dict[int, dict] = {}
    counting = Q(at__gt=since) | Q(subject__last_use_at__gt=since)
    for use in use_model.objects.filter(counting).order_by("pk").iterator():
        carried.setdefault(use.subject_id, {})[stored.new_token()] = [
            use.rule,
            stored.stamp(use.at),
        ]
    for pk, found in carried.items():
        subject_model.objects.filter(pk=pk).update(uses=found)


class Migration(migrations.Migration):
    dependencies = [
        ("throttles", "0003_uses_deleted_by_the_database"),
        # Both copy old counts into ``Use`` rows: they run while the table still exists.
        ("resets", "0006_throttles_move_to_the_throttle_app"),
        ("signin", "0003_lockout_moves_to_throttles"),
    ]

    operations = [
        # The old reverse name would hide the new field.
        migrations.AlterField(
            model_name="use",
            name="subject",
            field=models.ForeignKey(
                on_delete=models.DB_CASCADE, related_name="+", to="throttles.subject"
            ),
        ),
        migrations.AddField(
            model_name="subject",
            name="uses",
            field=models.JSONField(default=dict),
        ),
        migrations.RunPython(carry_uses, migrations.RunPython.noop),
        migrations.DeleteModel(name="Use"),
    ]
