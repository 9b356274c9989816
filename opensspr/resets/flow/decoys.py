"""Decoys: the flow every user ID that can't reset gets, so it looks like any other.

A decoy offers methods derived from a keyed digest of the typed ID, checks typed
contact data against nothing, sends nothing and accepts no code (attack A1;
docs/operators/sspr-policy.md).
"""

from opensspr.core.crypto import keyed_digest
from opensspr.policy.kinds import MethodKind


def decoy_kinds(key: str, allowed: frozenset[MethodKind], gates: int) -> list[str]:
    """A stable, plausible method list for an ID that can't reset.

    Built like a real list: from pieces of data (a mobile number brings its text
    and its call together), at least as many pieces as gates, chosen by a keyed
    digest of the typed ID so retries show the same list.
    """
    pieces: list[list[MethodKind]] = [
        [k]
        for k in (MethodKind.EMAIL, MethodKind.OFFICE_VOICE, MethodKind.APP_CODE)
        if k in allowed
    ]
    mobile: list[MethodKind] = [
        k for k in (MethodKind.MOBILE_SMS, MethodKind.MOBILE_VOICE) if k in allowed
    ]
    if mobile:
        pieces.append(mobile)
    if not pieces:
        return []
    ranked = sorted(pieces, key=lambda p: keyed_digest("reset-decoy", f"{key}\x00{p[0]}"))
    spread = int(keyed_digest("reset-decoy-n", key)[:2], 16) % len(pieces)
    chosen = ranked[: min(len(pieces), max(gates, 1 + spread))]
    return [k.value for piece in chosen for k in piece]
