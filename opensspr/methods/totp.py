"""Authenticator app codes: RFC 6238 TOTP, 30-second steps, ±1 step of drift.

A code is accepted at most once: the last accepted time step is stored per app
and moved forward with one conditional UPDATE, so a replay or two parallel
submissions of one code can't both pass (attack A8).
"""

from dataclasses import dataclass

import pyotp

from opensspr.core.crypto import unseal
from opensspr.methods.base import Answer, GateContext, Started
from opensspr.methods.models import AuthenticatorApp
from opensspr.policy.kinds import MethodKind

STEP_SECONDS = 30
DRIFT_STEPS = 1


def matching_step(secret: str, code: str, timestamp: float) -> int | None:
    """The time step whose code equals ``code``, within the allowed drift."""
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    now_step = int(timestamp) // STEP_SECONDS
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if pyotp.utils.strings_equal(totp.at(step * STEP_SECONDS), code.strip()):
            return step
    return None


def accept_code(app: AuthenticatorApp, code: str, timestamp: float) -> bool:
    step = matching_step(unseal(app.secret_sealed), code, timestamp)
    if step is None:
        return False
    return (
        AuthenticatorApp.objects.filter(pk=app.pk, last_used_step__lt=step).update(
            last_used_step=step
        )
        == 1
    )


@dataclass(frozen=True)
class TotpMethod:
    kind: MethodKind = MethodKind.APP_CODE
    needs_contact: bool = False

    def begin(self, ctx: GateContext, contact: str) -> Started:
        return Started(channel="app")

    def verify(self, ctx: GateContext, started: Started, answer: Answer) -> bool:
        if ctx.user is None or not isinstance(answer, str) or not answer.strip().isdigit():
            return False
        apps = AuthenticatorApp.objects.filter(user=ctx.user, confirmed_at__isnull=False)
        return any(accept_code(app, answer, ctx.now.timestamp()) for app in apps)
