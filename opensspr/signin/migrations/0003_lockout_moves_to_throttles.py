"""Smart-lockout counts move to the throttle tables (rule ``signin.lockout``).

Each lock and count is copied, so upgrading lifts no lockout (F12's spirit).
The remembered wrong-password digests can't be carried over (they were keyed
apart and the passwords are unknown): a repeated typo may count once more.
"""

from django.db import migrations

from opensspr.core.crypto import keyed_digest

SCOPE = "signin.lockout"


def copy_lockouts(apps, schema_editor):
    old = apps.get_model("signin", "SignInLockout")
    subject_model = apps.get_model("throttles", "Subject")
    use_model = apps.get_model("throttles", "Use")
    for row in old.objects.iterator():
        subject = subject_model.objects.create(
            scope=SCOPE,
            key=keyed_digest(f"throttle.{SCOPE}", row.key),
            blocked_until=row.locked_until,
            blocked_by=SCOPE if row.locked_until else "",
            level=row.lockout_level,
            last_use_at=row.last_failure_at,
        )
        at = row.last_failure_at or row.locked_until
        if at is not None:
            use_model.objects.bulk_create(
                [use_model(subject=subject, rule=SCOPE, at=at) for _ in range(row.failed_count)]
            )


class Migration(migrations.Migration):
    dependencies = [
        ("signin", "0002_temporary_password_and_familiar_sources"),
        ("throttles", "0001_subjects_and_uses"),
    ]

    operations = [
        migrations.RunPython(copy_lockouts, migrations.RunPython.noop),
        migrations.DeleteModel(name="SignInLockout"),
    ]
