"""Values a successful reset proved: the email or number its codes and calls reached.

Kept apart from ``services`` (what the person changes on the security-info
pages); the reset flow calls it when a reset or an unlock completes.
"""

from django.db.models import F, Value
from django.db.models.functions import Coalesce

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
    now = clock.now()
    # One UPDATE keeping an earlier proof's time (Coalesce); the row is created if missing.
    stamps = {
        f"{field}_proven_at": Coalesce(F(f"{field}_proven_at"), Value(now)) for field in newly
    }
    if not RegistrationState.objects.filter(user=user).update(confirmed_at=now, **stamps):
        RegistrationState.objects.create(
            user=user, confirmed_at=now, **{f"{f}_proven_at": now for f in newly}
        )
    else:
        people_changed.send(sender=RegistrationState, user_ids=[user.pk])
    return newly
