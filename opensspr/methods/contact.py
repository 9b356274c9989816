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
from opensspr.accounts.phones import normalise_phone, region_of
from opensspr.channels import (
    MessageKind,
    OutgoingMessage,
    mask_email,
    mask_phone,
)
from opensspr.methods import challenges
from opensspr.methods.base import (
    CODE_TTL,
    Answer,
    GateContext,
    MethodError,
    Started,
    channel_digest,
    code_matches,
)
from opensspr.policy.kinds import MethodKind


def _matching_email(user: User | None, typed: str) -> str:
    stored = user.reset_email if user else ""
    if not stored or typed.strip().casefold() != stored.casefold():
        raise MethodError("contact_mismatch")
    return stored


def _matching_phone(stored: str, typed: str) -> str:
    """The stored number, if ``typed`` is it: in full, or as dialled at home (0612345678)."""
    try:
        normalised = normalise_phone(typed, region=region_of(stored) if stored else None)
    except ValidationError:
        raise MethodError("contact_mismatch") from None
    if not stored or normalised != stored:
        raise MethodError("contact_mismatch")
    return stored


def _outgoing(
    ctx: GateContext, kind: MessageKind, to: str, purpose: str, **content: str
) -> OutgoingMessage:
    """A message of this gate: expires with the code, unique, tied to the flow's audit trail."""
    return OutgoingMessage(
        kind=kind,
        to=to,
        purpose=purpose,
        expires_at=ctx.now + CODE_TTL,
        idempotency_key=f"{ctx.flow_ref}:{secrets.token_hex(16)}",
        fresh_key=True,
        correlation_id=ctx.correlation_id,
        **content,
    )


@dataclass(frozen=True)
class _CodeMethod:
    """Send a fresh code to a stored destination; remember only its flow-bound digest."""

    kind: MethodKind
    needs_contact: bool = True

    def begin(self, ctx: GateContext, contact: str) -> Started:
        destination, channel = self._destination(ctx, contact)
        issued = challenges.issue(self.kind, bound_to=ctx.flow_ref, now=ctx.now)
        challenges.deliver(
            self._message(ctx, destination, issued.code),
            ctx.meta,
            ctx.may_send,
            now=ctx.now,
            budget=ctx.send_budget,
        )
        return Started(
            channel=channel_digest(channel),
            secret_digest=issued.code_digest,
            expires_at=issued.expires_at,
            shown_as=mask_email(destination)
            if self.kind == MethodKind.EMAIL
            else mask_phone(destination),
        )

    def verify(self, ctx: GateContext, started: Started, answer: Answer) -> bool:
        return code_matches(ctx.flow_ref, started.secret_digest, answer)

    def _destination(self, ctx: GateContext, contact: str) -> tuple[str, str]:
        raise NotImplementedError

    def _message(self, ctx: GateContext, to: str, code: str) -> OutgoingMessage:
        raise NotImplementedError


@dataclass(frozen=True)
class EmailCodeMethod(_CodeMethod):
    kind: MethodKind = MethodKind.EMAIL

    def _destination(self, ctx: GateContext, contact: str) -> tuple[str, str]:
        address = _matching_email(ctx.user, contact)
        return address, f"email:{address.casefold()}"

    def _message(self, ctx: GateContext, to: str, code: str) -> OutgoingMessage:
        values = {"code": code, "organisation": ctx.organisation}
        return _outgoing(
            ctx,
            MessageKind.EMAIL,
            to,
            "reset.code",
            subject=_("%(organisation)s account email verification code") % values,
            body=_(
                "Your verification code is %(code)s\n\nUse it within 5 minutes to continue "
                "resetting or unlocking your %(organisation)s account. If you didn't ask for "
                "this, you can ignore this email; nobody can use the code without your user "
                "ID, and it expires on its own."
            )
            % values,
        )


@dataclass(frozen=True)
class SmsCodeMethod(_CodeMethod):
    kind: MethodKind = MethodKind.MOBILE_SMS

    def _destination(self, ctx: GateContext, contact: str) -> tuple[str, str]:
        number = _matching_phone(ctx.user.mobile_phone if ctx.user else "", contact)
        return number, f"phone:{number}"

    def _message(self, ctx: GateContext, to: str, code: str) -> OutgoingMessage:
        return _outgoing(
            ctx,
            MessageKind.SMS,
            to,
            "reset.code",
            body=_("%(code)s is your %(organisation)s verification code. It expires in 5 minutes.")
            % {"code": code, "organisation": ctx.organisation},
        )


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
        issued = challenges.issue(self.kind, bound_to=ctx.flow_ref, now=ctx.now)
        challenges.deliver(
            _outgoing(
                ctx,
                MessageKind.VOICE,
                number,
                "reset.call",
                voice_prompt=_(
                    "This is %(organisation)s. Someone is resetting or unlocking your "
                    "account. If it is you, press the pound key now."
                )
                % {"organisation": ctx.organisation},
                voice_callback_token=issued.token,
            ),
            ctx.meta,
            ctx.may_send,
            now=ctx.now,
            budget=ctx.send_budget,
        )
        return Started(
            channel=channel_digest(f"phone:{number}"),
            voice_token=issued.token,
            expires_at=issued.expires_at,
            shown_as=mask_phone(number),
        )

    def verify(self, ctx: GateContext, started: Started, answer: Answer) -> bool:
        return False  # a call is confirmed by its callback, never by typed input
