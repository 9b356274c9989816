"""Subject keys shared with code that stored them before this app existed.

``ResetFlow.subject`` holds ``typed_user_id(identifier_key)`` (the value the
reset flow's own throttles stored before it moved to ``throttles.service``), so
rows copied by ``legacy.copy_sspr_throttles`` and console blocks keep the key.
"""

from collections.abc import Iterable

from opensspr.core.crypto import keyed_digest


def typed_user_id(identifier_key: str) -> str:
    """The §5.1 subject of a typed user ID: a keyed digest, never the ID itself."""
    return keyed_digest("sspr-throttle", identifier_key)


def network_subject(subject: str, *, familiar: bool) -> str:
    """``subject`` split by network kind: failures at home and elsewhere count apart (A21)."""
    return f"{subject}:{'familiar' if familiar else 'elsewhere'}"


def failure_subject(subject: str, *, familiar: bool, method: str) -> str:
    """Where wrong answers count: the typed ID, per way of verifying, per network kind.

    Per method, so exhausting one (the authenticator app needs nothing but the user ID)
    leaves the others open; per network kind, so guesses from elsewhere can't pause it
    at the person's home (attack A21).
    """
    return f"{network_subject(subject, familiar=familiar)}:{method}"


def all_subjects(subject: str, methods: Iterable[str] = ()) -> list[str]:
    """Every key a typed user ID's reset counts live under (to read or clear them all)."""
    keys = [subject]
    for familiar in (True, False):
        keys.append(network_subject(subject, familiar=familiar))
        keys += [failure_subject(subject, familiar=familiar, method=m) for m in methods]
    return keys
