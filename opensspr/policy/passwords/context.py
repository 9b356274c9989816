"""Who is choosing the password: the facts a password rule may look at.

:class:`PasswordContext` is built by the caller (``password_context_for`` in
the policy selectors) and never read back from storage. It carries the
current password on a change, so it keeps that value out of ``repr`` and
never formats it into anything.
"""

import re
from dataclasses import dataclass, field

from opensspr.policy.passwords.fuzzy import MIN_TERM_LENGTH
from opensspr.policy.passwords.normalise import normalise

NIST_MIN_LENGTH_DEFAULT = 15
NIST_MIN_LENGTH_FLOOR = 8
NIST_MIN_LENGTH_CEILING = 64
PRODUCT_NAME = "opensspr"

_WORD_BREAK = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class PasswordContext:
    user_id: str = ""
    given_name: str = ""
    surname: str = ""
    display_name: str = ""
    organisation_name: str = ""
    custom_banned_terms: tuple[str, ...] = ()
    current_password: str | None = field(default=None, repr=False)
    nist_min_length: int = NIST_MIN_LENGTH_DEFAULT

    def __post_init__(self) -> None:
        # Accept any iterable from callers but keep the value hashable, so the
        # custom-term index can be cached per distinct list.
        if not isinstance(self.custom_banned_terms, tuple):
            object.__setattr__(self, "custom_banned_terms", tuple(self.custom_banned_terms))

    @property
    def effective_nist_min_length(self) -> int:
        """The NIST minimum clamped to 8..64: below 8 breaks NIST, above 64 blocks passphrases."""
        return min(max(self.nist_min_length, NIST_MIN_LENGTH_FLOOR), NIST_MIN_LENGTH_CEILING)


def name_terms(*names: str) -> frozenset[str]:
    """Normalised forms of ``names`` that a password must not contain, 4+ characters each.

    "Contoso Ltd" gives "contoso ltd", "contosoltd" and "contoso": the password
    may hold the name as written, run together, or just its first word; "ltd"
    alone is too short to block. Empty names give nothing (decision (d): no
    guessing from other fields).
    """
    candidates: set[str] = set()
    for name in names:
        words = [normalise(word) for word in _WORD_BREAK.split(name) if word]
        candidates.update(words)
        candidates.add("".join(words))
        candidates.add(normalise(name.strip()))
    return frozenset(term for term in candidates if len(term) >= MIN_TERM_LENGTH)


def user_id_local_part(user_id: str) -> str:
    """The part of a UPN-style user ID before the last ``@`` (the whole ID if none)."""
    return user_id.rpartition("@")[0] or user_id
