"""Familiar devices: browsers where a user ID signed in lately (reference §5.4's idea).

Familiar networks (``sources``) let the person through at home or at the office while
a stranger's wrong answers pile up elsewhere. On the road, the person's own laptop or
phone is what they still have: a successful sign-in leaves a cookie, signed with the
server's key, that names the user IDs signed in on that browser (as keyed digests, at
most ``MAX_IDS``) and is renewed at each sign-in. Wrong passwords and wrong reset answers
sent with it count with the familiar networks, apart from the stranger's.

A stranger who knows only the user ID can't have it: it can't be forged without the key,
their own sign-in names only their own ID, and one taken from the person's browser is as
good as the browser itself. Unknown IDs never have one, as they never have a familiar
network, so it tells nothing about who exists.
"""

import hmac
from datetime import UTC, datetime, timedelta

from django.core import signing

from opensspr.core import clock
from opensspr.core.crypto import keyed_digest
from opensspr.signin.sources import FAMILIAR_FOR

#: User IDs one browser remembers (a shared family computer); the oldest drops out.
MAX_IDS = 5
_SALT = "opensspr.signin.device"


def _tag(identifier_key: str) -> str:
    return keyed_digest("signin-device", identifier_key)[:32]


def _tags(token: str, now: datetime) -> list[str]:
    """The user IDs a cookie names, if it is ours and was renewed within ``FAMILIAR_FOR``.

    The age is the product clock's (``core.clock``), kept inside the signed value.
    """
    if not token:
        return []
    try:
        value = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        return []
    if not isinstance(value, dict) or not isinstance(value.get("at"), int):
        return []
    if now - datetime.fromtimestamp(value["at"], UTC) > FAMILIAR_FOR:
        return []
    tags = value.get("ids")
    return [t for t in tags[:MAX_IDS] if isinstance(t, str)] if isinstance(tags, list) else []


def remember(token: str, identifier_key: str) -> str:
    """The cookie's new value after ``identifier_key`` signed in on this browser."""
    now = clock.now()
    tag = _tag(identifier_key)
    tags = [tag, *(t for t in _tags(token, now) if t != tag)][:MAX_IDS]
    return signing.dumps({"at": int(now.timestamp()), "ids": tags}, salt=_SALT)


def is_familiar(identifier_key: str, token: str) -> bool:
    """Did ``identifier_key`` sign in on the browser that sent ``token``, lately?"""
    tag = _tag(identifier_key)
    return any(hmac.compare_digest(tag, seen) for seen in _tags(token, clock.now()))


#: How long the browser keeps the cookie; each sign-in renews it.
MAX_AGE: timedelta = FAMILIAR_FOR
