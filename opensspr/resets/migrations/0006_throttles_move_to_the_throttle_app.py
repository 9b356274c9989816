"""The §5.1 throttles move to the ``throttles`` app: copy what is in force, then drop the tables.

``copy_sspr_throttles`` carries every live block and every count inside the
longest window over, so an upgrade lifts no limit (F12's spirit).
"""

from django.db import migrations

from opensspr.throttles.legacy import copy_sspr_throttles


class Migration(migrations.Migration):
    dependencies = [
        ("resets", "0005_challenge_shared_state"),
        ("throttles", "0001_subjects_and_uses"),
    ]

    operations = [
        migrations.RunPython(copy_sspr_throttles, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name="throttleevent",
            name="resets_thro_subject_6e6dcc_idx",
        ),
        migrations.DeleteModel(
            name="ThrottleEvent",
        ),
        migrations.DeleteModel(
            name="ThrottleSubject",
        ),
    ]
