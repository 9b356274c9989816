"""The policy's "contact your administrator" setting: a link, a mail address or the default.

Lives with the policy so the console can refuse a value the portal would not use;
the portal (``resets.helpdesk``) renders what this decides.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator


class HelpdeskKind(StrEnum):
    URL = "url"  # a web page, opened in a new tab
    EMAIL = "email"  # a mailto: link
    REQUEST = "request"  # the default: we email the administrators


@dataclass(frozen=True)
class HelpdeskLink:
    kind: HelpdeskKind
    target: str = ""  # the URL, or the email address; "" for a request


def helpdesk_link_for(contact: str) -> HelpdeskLink:
    """Classify the policy's helpdesk contact; only http(s) URLs ever become links."""
    value = contact.strip()
    if value.lower().startswith(("https://", "http://")):
        try:
            URLValidator(schemes=["http", "https"])(value)
        except ValidationError:
            return HelpdeskLink(HelpdeskKind.REQUEST)
        return HelpdeskLink(HelpdeskKind.URL, value)
    try:
        EmailValidator()(value)
    except ValidationError:
        return HelpdeskLink(HelpdeskKind.REQUEST)
    return HelpdeskLink(HelpdeskKind.EMAIL, value)
