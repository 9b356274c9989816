"""Email through the deployment's SMTP relay (Django's ``MAILERS["default"]``).

Outcome mapping, chosen so that a message is never delivered twice:

* connecting, STARTTLS or logging in fails: nothing was sent -> temporary. A
  failed STARTTLS never falls back to plain text (Django's backend keeps the
  half-open connection apart and we stop there; security bar F7).
* the server answers 4xx (greylisting, 451 local error): it refused to take the
  message -> temporary; 5xx -> permanent.
* the connection drops or times out after we started the transaction: the relay
  may have accepted it -> uncertain, never retried.

The subject cannot carry a header: CR and LF are refused at enqueue and
stripped again here.
"""

import contextlib
import re
import smtplib
from email.utils import formataddr, make_msgid, parseaddr
from typing import TYPE_CHECKING, ClassVar, Self

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.utils.translation import gettext_lazy as _

from opensspr.accounts.selectors import get_organisation
from opensspr.channels.base import (
    Health,
    HealthState,
    MessageKind,
    PermanentDeliveryError,
    Receipt,
    StrOrPromise,
    TemporaryDeliveryError,
    UncertainDeliveryError,
)

if TYPE_CHECKING:
    from opensspr.channels.models import ChannelSettings, Message

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _code(exc: BaseException) -> str:
    return f"smtp_{type(exc).__name__}"


def sender() -> str:
    """``OPENSSPR_MAIL_FROM``; without a display name, "<organisation> via OpenSSPR"."""
    name, address = parseaddr(settings.OPENSSPR_MAIL_FROM)
    if not name:
        name = f"{_CONTROL.sub(' ', get_organisation().name).strip()} via OpenSSPR"
    return formataddr((name, address))


def _relay_configured() -> bool:
    """False when mail would go to Django's in-memory backend (no OPENSSPR_SMTP_HOST)."""
    backend = str(getattr(settings, "MAILERS", {}).get("default", {}).get("BACKEND", ""))
    return not backend.endswith(("locmem.EmailBackend", "dummy.EmailBackend"))


def _classify_response(code: int, name: str) -> Exception:
    if 400 <= code < 500:
        return TemporaryDeliveryError(f"smtp_{code}")
    if 500 <= code < 600:
        return PermanentDeliveryError(f"smtp_{code}")
    return UncertainDeliveryError(f"smtp_{name}")


class SmtpEmailChannel:
    key: ClassVar[str] = "smtp"
    label: ClassVar[StrOrPromise] = _("SMTP relay (OPENSSPR_SMTP_* settings)")
    kinds: ClassVar[frozenset[MessageKind]] = frozenset({MessageKind.EMAIL})
    idempotent: ClassVar[bool] = False
    keeps_body: ClassVar[bool] = False

    @classmethod
    def from_config(cls, config: "ChannelSettings") -> Self:
        return cls()

    @classmethod
    def missing_settings(cls, config: "ChannelSettings") -> dict[str, str]:
        """The relay is deployment configuration; refuse the choice while there is none."""
        if _relay_configured():
            return {}
        why = _("Set OPENSSPR_SMTP_HOST first: without it, mail is only kept in memory.")
        return {"email_channel": str(why)}

    def send(self, message: "Message", plaintext_body: str) -> Receipt:
        from_email = sender()
        domain = parseaddr(from_email)[1].rpartition("@")[2] or "opensspr.invalid"
        message_id = make_msgid(domain=domain)
        email = EmailMessage(
            subject=_CONTROL.sub(" ", message.subject).strip(),
            body=plaintext_body,
            from_email=from_email,
            to=[message.recipient],
            # RFC 3834: no auto-replies; our own Message-ID is the provider reference.
            headers={"Auto-Submitted": "auto-generated", "Message-ID": message_id},
        )
        connection = mailers["default"]
        try:
            connection.open()
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryDeliveryError(_code(exc)) from None
        try:
            connection.send_messages([email])
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _text in exc.recipients.values()]
            if codes and all(400 <= code < 500 for code in codes):
                raise TemporaryDeliveryError(f"smtp_{codes[0]}") from None
            raise PermanentDeliveryError(f"smtp_{codes[0] if codes else 'refused'}") from None
        except smtplib.SMTPResponseException as exc:
            raise _classify_response(exc.smtp_code, type(exc).__name__) from None
        except ValueError:  # Django refuses an address it cannot encode or that has CR/LF
            raise PermanentDeliveryError("invalid_address") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise UncertainDeliveryError(_code(exc)) from None
        finally:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.close()  # the message's fate is already decided
        return Receipt(provider_ref=message_id[:128])

    def check_health(self) -> Health:
        if not _relay_configured():
            return Health(HealthState.DOWN, "not_configured")
        connection = mailers["default"]
        try:
            connection.open()
        except (smtplib.SMTPException, OSError) as exc:
            return Health(HealthState.DOWN, _code(exc))
        with contextlib.suppress(smtplib.SMTPException, OSError):
            connection.close()
        return Health(HealthState.HEALTHY)
