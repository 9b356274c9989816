"""The banned-password check of the cloud profile (reference §6.3).

The password is normalised, every window that a banned term matches is found
(global and custom lists within one edit; the user's and organisation's names
exactly), and the password is scored: one point per banned term used, one
point per remaining character. A score of :data:`ACCEPT_SCORE` or more passes.

Design decision (a), overlapping matches: the score is the *minimum* over all
ways of covering the password with non-overlapping matched windows and single
characters, found by dynamic programming over the positions. That is the
attacker's view: the cheapest way to describe the password to a guesser who
knows the lists. Decisions (b) and (c) live in :mod:`.fuzzy`.

Decision (d), names: the user's given name and surname and the organisation
name (words of 4+ characters, see :func:`.context.name_terms`) are matched
exactly; the display name is not split, and empty names contribute nothing.
The organisation name scores like a custom-list term, which is what the
reference's worked examples need ("ContoS0Bl@nkf9!" with tenant "Contoso" is
accepted at 5 points). The user's *own* name rejects on its own, as in the
reference's step-3 example: "p0LL23fb" for user "Poll" would score 5 points
(poll + 2 + e + f + b) yet must be rejected. Someone guessing one person's
password knows that person's name, so it is never a safe ingredient.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from opensspr.policy.passwords import lists
from opensspr.policy.passwords.context import PasswordContext, name_terms
from opensspr.policy.passwords.fuzzy import Match, TermIndex
from opensspr.policy.passwords.normalise import normalise

ACCEPT_SCORE = 5


@dataclass(frozen=True)
class BannedScore:
    """How guessable the password is against the banned lists.

    ``terms`` are list entries (not password text), but they still hint at what
    the password contains, so they stay out of ``repr``.
    """

    score: int
    global_score: int
    contains_user_name: bool = False
    terms: tuple[str, ...] = field(default=(), repr=False)

    @property
    def accepted(self) -> bool:
        return self.score >= ACCEPT_SCORE and not self.contains_user_name

    @property
    def blocked_by_custom(self) -> bool:
        """Rejected only through the custom list or the names; the global list alone passes it."""
        return not self.accepted and self.global_score >= ACCEPT_SCORE


def score_banned(
    password: str, *, context: PasswordContext, global_index: TermIndex | None = None
) -> BannedScore:
    """Score ``password``; ``global_index`` replaces the shipped list (tests, tools)."""
    text = normalise(password)
    index = lists.global_index() if global_index is None else global_index
    global_matches = list(index.find(text))
    user_names = name_terms(context.given_name, context.surname)
    user_matches = find_exact(text, user_names)
    custom_matches = [
        *lists.custom_index(context.custom_banned_terms).find(text),
        *find_exact(text, name_terms(context.organisation_name)),
        *user_matches,
    ]
    # Custom matches first: on a tie the cover names the organisation's term.
    score, terms = minimum_cover(len(text), [*custom_matches, *global_matches])
    global_score, _ = minimum_cover(len(text), global_matches)
    return BannedScore(
        score=score,
        global_score=global_score,
        contains_user_name=bool(user_matches),
        terms=terms,
    )


def find_exact(text: str, terms: Iterable[str]) -> list[Match]:
    """Every occurrence of each term as a plain substring (names: no fuzzy match)."""
    found: list[Match] = []
    for term in sorted(terms):
        start = text.find(term)
        while start != -1:
            found.append(Match(start, start + len(term), term))
            start = text.find(term, start + 1)
    return found


def minimum_cover(length: int, matches: Iterable[Match]) -> tuple[int, tuple[str, ...]]:
    """Cheapest cover of ``length`` characters by matched windows (1 point) and characters (1).

    Returns the score and the terms the cheapest cover uses, in password order.
    Ties prefer single characters, so terms are only listed when they lower
    the score.
    """
    ending_at: dict[int, list[Match]] = {}
    for match in matches:
        ending_at.setdefault(match.end, []).append(match)
    best = [0] * (length + 1)
    via: list[Match | None] = [None] * (length + 1)
    for end in range(1, length + 1):
        best[end] = best[end - 1] + 1
        for candidate in ending_at.get(end, ()):
            if best[candidate.start] + 1 < best[end]:
                best[end], via[end] = best[candidate.start] + 1, candidate
    return best[length], _terms_used(via)


def _terms_used(via: list[Match | None]) -> tuple[str, ...]:
    """Walk the cheapest cover back from the end of the password."""
    terms: list[str] = []
    position = len(via) - 1
    while position > 0:
        step = via[position]
        if step is None:
            position -= 1
        else:
            terms.append(step.term)
            position = step.start
    return tuple(reversed(terms))
