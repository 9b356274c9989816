"""Carry the reset flow's own throttle rows into the throttle tables, for the swap's migration.

``resets.ThrottleSubject`` (``key`` = the flow's subject, ``blocked_until``,
``blocked_by`` = an old action name) and ``resets.ThrottleEvent`` (``action``,
``at``) become ``Subject``/``Use`` rows of scope ``sspr`` keyed as the service
keys ``ResetFlow.subject``, so a block or count in force at the upgrade stays in
force (F12's spirit: an upgrade lifts no limit). The migration that deletes the
old models runs, before deleting them::

    migrations.RunPython(copy_sspr_throttles, migrations.RunPython.noop)

with ``("throttles", "0001_subjects_and_uses")`` among its dependencies.
"""

from datetime import timedelta
from typing import Any

from opensspr.core import clock
from opensspr.core.crypto import keyed_digest
from opensspr.throttles.rules import Scope

#: The longest §5.1 window: older events count for nothing.
LONGEST_WINDOW = timedelta(hours=24)


def copy_sspr_throttles(apps: Any, schema_editor: Any) -> None:
    """Copy every old subject with a live block or events inside the longest window."""
    old_subject = apps.get_model("resets", "ThrottleSubject")
    old_event = apps.get_model("resets", "ThrottleEvent")
    subject_model = apps.get_model("throttles", "Subject")
    use_model = apps.get_model("throttles", "Use")
    since = clock.now() - LONGEST_WINDOW
    for old in old_subject.objects.iterator():
        subject, _created = subject_model.objects.get_or_create(
            scope=Scope.SSPR.value, key=keyed_digest(f"throttle.{Scope.SSPR}", old.key)
        )
        if old.blocked_until:
            subject.blocked_until = old.blocked_until
            subject.blocked_by = f"sspr.{old.blocked_by}" if old.blocked_by else ""
            subject.level = 1
            subject.save()
        events = old_event.objects.filter(subject=old, at__gt=since)
        use_model.objects.bulk_create(
            [use_model(subject=subject, rule=f"sspr.{e.action}", at=e.at) for e in events]
        )
