"""Methods that reach a stored email address or phone number: email, SMS, voice.

The person types the full address or number first (reference §4.2); we send only
when it matches what the directory holds, and always to the stored value, never
to what was typed (attacks A14, A19). A mismatch is told plainly, as the
reference does for phones; each check counts toward the throttle.
"""

import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from opensspr.accounts.models import User
from opensspr.accounts.phones import normalise_phone
from opensspr.channels import MessageKind, OutgoingMessage, enqueue_message
from opensspr.core.crypto import keyed_digest
from opensspr.methods.base import (
    CODE_TTL,
    GateContext,
    MethodError,
    Started,
    channel_digest,
    code_digest,
    code_matches,
    new_code,
)
from opensspr.policy.kinds import MethodKind

VOICE_TTL = CODE_TTL


def _matching_email(user: User | None, typed: str) -> str:
    stored = user.auth_email if user else ""
    if not stored or typed.strip().casefold() != stored.casefold():
        raise MethodError("contact_mismatch")
    return stored


def _matching_phone(stored: str, typed: str) -> str:
    try:
        normalised = normalise_phone(typed)
    except ValidationError:
        raise MethodError("contact_mismatch") from None
    if not stored or normalised != stored:
        raise MethodError("contact_mismatch")
    return stored


@dataclass(frozen=True)
class EmailCodeMethod:
    kind: MethodKind = MethodKind.EMAIL
    needs_contact: bool = True
    digits: int = 8

    def begin(self, ctx: GateContext, contact: str) -> Started:
        address = _matching_email(ctx.user, contact)
        code = new_code(self.digits)
        enqueue_message(
            OutgoingMessage(
                kind=MessageKind.EMAIL,
                to=address,
                purpose="reset.code",
                subject=_("%(organisation)s account email verification code")
                % {"organisation": ctx.organisation},
                body=_(
                    "Your verification code is %(code)s\n\nUse it within 5 minutes to continue "
                    "resetting or unlocking your %(organisation)s account. If you didn't ask for "
                    "this, you can ignore this email; nobody can use the code without your user "
                    "ID, and it expires on its own."
                )
                % {"code": code, "organisation": ctx.organisation},
                expires_at=ctx.now + CODE_TTL,
                idempotency_key=f"{ctx.flow_ref}:{secrets.token_hex(8)}",
                correlation_id=ctx.correlation_id,
            ),
            meta=ctx.meta,
        )
        return Started(
            channel=channel_digest(f"email:{address.casefold()}"),
            secret_digest=code_digest(ctx.flow_ref, code),
            expires_at=ctx.now + CODE_TTL,
        )

    def verify(self, ctx: GateContext, started: Started, answer: str) -> bool:
        return code_matches(ctx.flow_ref, started.secret_digest, answer)


@dataclass(frozen=True)
class SmsCodeMethod:
    kind: MethodKind = MethodKind.MOBILE_SMS
    needs_contact: bool = True
    digits: int = 6

    def begin(self, ctx: GateContext, contact: str) -> Started:
        number = _matching_phone(ctx.user.mobile_phone if ctx.user else "", contact)
        code = new_code(self.digits)
        _send(
            ctx,
            OutgoingMessage(
                kind=MessageKind.SMS,
                to=number,
                purpose="reset.code",
                body=_(
                    "%(code)s is your %(organisation)s verification code. It expires in 5 minutes."
                )
                % {"code": code, "organisation": ctx.organisation},
                expires_at=ctx.now + CODE_TTL,
                idempotency_key=f"{ctx.flow_ref}:{secrets.token_hex(8)}",
                correlation_id=ctx.correlation_id,
            ),
        )
        return Started(
            channel=channel_digest(f"phone:{number}"),
            secret_digest=code_digest(ctx.flow_ref, code),
            expires_at=ctx.now + CODE_TTL,
        )

    def verify(self, ctx: GateContext, started: Started, answer: str) -> bool:
        return code_matches(ctx.flow_ref, started.secret_digest, answer)


@dataclass(frozen=True)
class VoiceCallMethod:
    """A call the person answers and confirms with # (reference §4.4).

    The call carries a one-time token in its callback URL; the provider's signed
    callback (or the demo outbox's button) marks the challenge answered. The gate
    passes when the person then continues in the portal.
    """

    kind: MethodKind
    needs_contact: bool = True

    def begin(self, ctx: GateContext, contact: str) -> Started:
        stored = ""
        if ctx.user:
            stored = (
                ctx.user.office_phone
                if self.kind == MethodKind.OFFICE_VOICE
                else ctx.user.mobile_phone
            )
        number = _matching_phone(stored, contact)
        token = secrets.token_urlsafe(32)
        _send(
            ctx,
            OutgoingMessage(
                kind=MessageKind.VOICE,
                to=number,
                purpose="reset.call",
                voice_prompt=_(
                    "This is %(organisation)s. Someone is resetting or unlocking your "
                    "account. If it is you, press the pound key now."
                )
                % {"organisation": ctx.organisation},
                voice_callback_token=token,
                expires_at=ctx.now + VOICE_TTL,
                idempotency_key=f"{ctx.flow_ref}:{secrets.token_hex(8)}",
                correlation_id=ctx.correlation_id,
            ),
        )
        return Started(
            channel=channel_digest(f"phone:{number}"),
            voice_token=token,
            expires_at=ctx.now + VOICE_TTL,
        )

    def verify(self, ctx: GateContext, started: Started, answer: str) -> bool:
        return False  # a call is confirmed by its callback, never by typed input


def _send(ctx: GateContext, message: OutgoingMessage) -> None:
    """Queue ``message`` unless a cost budget said no (then nothing leaves, A4)."""
    if ctx.may_send():
        enqueue_message(message, meta=ctx.meta)


def voice_token_digest(token: str) -> str:
    return keyed_digest("reset-voice-token", token)
