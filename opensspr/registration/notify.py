"""Everything security info sends: proof codes and calls, and change notifications.

A change to a method is told out of band (OWASP MFA-3, security bar A18): by
email to every address the person has (their primary address and their
authentication email, before and after the change), and by a short text: to the
old and the new mobile number when that number changed, else to the registered
mobile number, if any, whatever changed (an app, the questions, the office phone
or the email). Office phones are landlines as often as not, so nothing is ever
told by a call. Nothing sent here names a full number, code or answer except the
code itself, to its own destination.
"""

import secrets
from dataclasses import replace
from datetime import datetime

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from opensspr.accounts.models import User
from opensspr.accounts.selectors import get_organisation
from opensspr.channels import MessageKind, OutgoingMessage, enqueue_message
from opensspr.core.request_meta import RequestMeta


class Item(models.TextChoices):
    """A piece of security info a person manages."""

    AUTH_EMAIL = "auth_email", gettext_lazy("authentication email")
    MOBILE_PHONE = "mobile_phone", gettext_lazy("mobile phone")
    OFFICE_PHONE = "office_phone", gettext_lazy("office phone")
    AUTHENTICATOR_APP = "authenticator_app", gettext_lazy("authenticator app")
    SECURITY_QUESTIONS = "security_questions", gettext_lazy("security questions")


class Action(models.TextChoices):
    ADDED = "added", gettext_lazy("added")
    CHANGED = "changed", gettext_lazy("changed")
    REMOVED = "removed", gettext_lazy("removed")


def proof_message(
    *,
    kind: MessageKind,
    to: str,
    identity: bool,
    code: str,
    voice_token: str,
    ref: str,
    meta: RequestMeta,
    expires_at: datetime,
) -> OutgoingMessage:
    """The code or call that proves ``to`` (``identity``: proves it is the person)."""
    values = {"organisation": get_organisation().name, "code": code}
    base = OutgoingMessage(
        kind=kind,
        to=to,
        purpose="registration.code",
        expires_at=expires_at,
        idempotency_key=f"registration:{ref}",
        correlation_id=meta.correlation_id,
    )
    if kind == MessageKind.VOICE:
        prompt = (
            _(
                "This is %(organisation)s. Someone signed in to your account wants to change "
                "its security info. If it is you, press the pound key now."
            )
            if identity
            else _(
                "This is %(organisation)s. To add this phone number to the security info of "
                "your account, press the pound key now."
            )
        )
        return replace(
            base,
            purpose="registration.call",
            voice_prompt=prompt % values,
            voice_callback_token=voice_token,
        )
    if kind == MessageKind.SMS:
        body = _("%(code)s is your %(organisation)s verification code. It expires in 5 minutes.")
        return replace(base, body=body % values)
    body = (
        _(
            "Your verification code is %(code)s\n\nUse it within 5 minutes to confirm it's you "
            "before changing the security info of your %(organisation)s account. If you didn't "
            "ask for it, someone may know your password: change it and tell your helpdesk."
        )
        if identity
        else _(
            "Your verification code is %(code)s\n\nUse it within 5 minutes to add this address "
            "to the security info of your %(organisation)s account. If you didn't ask for it, "
            "you can ignore this email."
        )
    )
    return replace(
        base,
        subject=_("%(organisation)s account email verification code") % values,
        body=body % values,
    )


def notify_change(
    *, user: User, item: Item, action: Action, old: str, new: str, meta: RequestMeta
) -> None:
    """Tell every address, and the mobile number(s), of the change (the caller's transaction).

    ``old`` and ``new`` are the values before and after for the email and
    phones ('' when there was or is none); for apps and questions they are ''.
    """
    values = {"organisation": get_organisation().name, "user_id": user.user_id}
    addresses = {user.email, user.auth_email}
    if item == Item.AUTH_EMAIL:
        addresses |= {old, new}
    addresses.discard("")
    subject = _("The security info of your %(organisation)s account changed") % values
    body = "\n\n".join(
        [
            _("The security info of %(user_id)s changed just now.") % values,
            _("What changed: %(item)s, %(action)s.") % {"item": item.label, "action": action.label},
            _(
                "If this was you, there is nothing more to do. If it wasn't, contact your "
                "helpdesk at once: someone may be trying to take over your account."
            ),
        ]
    )
    for address in sorted(addresses or {user.user_id}):
        _send(MessageKind.EMAIL, address, meta, subject=subject, body=body)
    if item == Item.MOBILE_PHONE:
        text = _(
            "%(organisation)s: the mobile phone number in the security info of %(user_id)s "
            "changed. If this wasn't you, contact your helpdesk at once."
        )
        for number in sorted({old, new} - {""}):
            _text(number, meta, text % values)
    elif user.mobile_phone:
        text = _(
            "%(organisation)s: security info of %(user_id)s changed: %(item)s %(action)s. "
            "If this wasn't you, contact your administrator."
        )
        values |= {"item": str(item.label), "action": str(action.label)}
        _text(user.mobile_phone, meta, text % values)


def _text(number: str, meta: RequestMeta, body: str) -> None:
    """At most one notification text per number per request (an administrator's clear
    removes several things at once: one text, the first change named, the emails say all)."""
    _send(
        MessageKind.SMS,
        number,
        meta,
        body=body,
        key=f"registration-notify-text:{meta.correlation_id}:{number}",
    )


def notify_identity_blocked(*, user: User, meta: RequestMeta) -> None:
    """Tell the person that wrong identity codes blocked their security info and reset.

    Whoever typed them had the password (they were signed in), so the person is
    told at once, by email and text, never naming a code (the caller's transaction).
    """
    values = {"organisation": get_organisation().name, "user_id": user.user_id}
    subject = _("Too many wrong codes for your %(organisation)s account") % values
    body = "\n\n".join(
        [
            _(
                "Someone signed in as %(user_id)s typed wrong verification codes too often "
                "while trying to change its security info."
            )
            % values,
            _(
                "For your security, changing your security info and resetting your password "
                "yourself are blocked for 24 hours."
            ),
            _(
                "If this wasn't you, someone knows your password: change it and contact your "
                "helpdesk at once."
            ),
        ]
    )
    addresses = {user.email, user.auth_email} - {""}
    for address in sorted(addresses or {user.user_id}):
        _send(
            MessageKind.EMAIL,
            address,
            meta,
            subject=subject,
            body=body,
            purpose="registration.identity_blocked",
        )
    if user.mobile_phone:
        text = _(
            "%(organisation)s: too many wrong codes for %(user_id)s. Security info changes and "
            "self-service reset are blocked for 24 hours. Not you? Contact your helpdesk."
        )
        _send(
            MessageKind.SMS,
            user.mobile_phone,
            meta,
            body=text % values,
            purpose="registration.identity_blocked",
        )


def _send(
    kind: MessageKind,
    to: str,
    meta: RequestMeta,
    *,
    body: str,
    subject: str = "",
    key: str = "",
    purpose: str = "registration.notification",
) -> None:
    enqueue_message(
        OutgoingMessage(
            kind=kind,
            to=to,
            purpose=purpose,
            subject=subject,
            body=body,
            # Unique per message: one request may tell one address of two changes.
            idempotency_key=key
            or f"registration-notify:{meta.correlation_id}:{secrets.token_hex(8)}",
            correlation_id=meta.correlation_id,
        ),
        meta=meta,
    )
