"""Values a successful reset proved: the email or number its codes and calls reached.

Kept apart from ``services`` (what the person changes on the security-info
pages); the reset flow calls it when a reset or an unlock completes.
"""

from datetime import datetime

from django.db import connection

from opensspr.accounts.models import User
from opensspr.accounts.signals import people_changed
from opensspr.core import clock
from opensspr.core.crypto import secrets_equal
from opensspr.methods.base import channel_digest
from opensspr.policy.kinds import MethodKind
from opensspr.registration.models import RegistrationState

#: The directory field a reset gate of each kind proves possession of, and the channel
#: the gate recorded for it (``methods.contact``: ``email:<address>``, ``phone:<E.164>``).
_GATE_FIELDS = {
    MethodKind.EMAIL: ("auth_email", lambda value: f"email:{value.casefold()}"),
    MethodKind.MOBILE_SMS: ("mobile_phone", lambda value: f"phone:{value}"),
    MethodKind.MOBILE_VOICE: ("mobile_phone", lambda value: f"phone:{value}"),
    MethodKind.OFFICE_VOICE: ("office_phone", lambda value: f"phone:{value}"),
}


def mark_proven_by_reset(*, user: User, gates: list[dict[str, str]]) -> list[str]:
    """A reset or unlock succeeded through codes or calls: the person holds those values.

    An email or number an administrator set (or an import) is usable but unproven
    (reference §8.3); a code that reached it and came back proves it as well as
    registration does. Only the value still stored counts: the gate's channel
    digest is compared with the current value's, so a value replaced meanwhile
    stays as it is. A value that works is current, so the reset also counts as
    the person confirming their security info (the report's "last confirmed",
    and the reconfirmation interval starts again). Call inside the transaction
    that completes the reset; returns the fields the reset proved (an earlier
    proof's time is kept).
    """
    newly: list[str] = []
    for gate in gates:
        kind = gate.get("kind", "")
        spec = _GATE_FIELDS.get(MethodKind(kind)) if kind in MethodKind else None
        if spec is None:
            continue
        field, channel_of = spec
        value = getattr(user, field)
        channel = channel_digest(channel_of(value)) if value else ""
        if channel and secrets_equal(gate.get("channel", ""), channel) and field not in newly:
            newly.append(field)
    if not newly:
        return []
    _stamp(user.pk, newly, clock.now())
    people_changed.send(sender=RegistrationState, user_ids=[user.pk])
    return newly


def _stamp(user_pk: int, fields: list[str], now: datetime) -> None:
    """One upsert: the row created if missing, else confirmed now, with an earlier proof's
    time kept (``COALESCE``). Both engines support ``ON CONFLICT ... DO UPDATE``."""
    q = connection.ops.quote_name
    table = q(RegistrationState._meta.db_table)
    proven = [q(f"{field}_proven_at") for field in fields]
    kept = ", ".join(f"{c} = COALESCE({table}.{c}, EXCLUDED.{c})" for c in proven)
    columns = ", ".join([q("user_id"), q("confirmed_at"), q("reminders_sent"), *proven])
    values = ", ".join(["%s"] * (3 + len(proven)))
    # Only quoted names of this model and placeholders go into the text: no value does.
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES ({values}) "  # noqa: S608
        f"ON CONFLICT ({q('user_id')}) DO UPDATE SET "
        f"{q('confirmed_at')} = EXCLUDED.{q('confirmed_at')}, {kept}"
    )
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_pk, stamp, 0, *[stamp] * len(proven)])
