"""The one normalisation every banned-password comparison goes through.

Both sides of a comparison (the password and every banned term, name or list
entry) pass through :func:`normalise`, so a substitution only ever widens what
a term blocks; it can never let a listed term through.

The table maps one character to one character, so a normalised ASCII password
has exactly as many characters as the password itself and the banned-password
score can count "remaining characters" on the normalised text.

Substitution table (reference §6.3 gives the first four; the rest are the
common "leet" spellings that the leaked corpora behind the global list use):

==========  ===  =====================================================
character   →    why
==========  ===  =====================================================
``0``       o    reference example
``1``       l    reference example (not ``i``: one target per digit)
``$``       s    reference example
``@``       a    reference example
``3``       e    p4ssw0rd-style spellings
``4``       a
``5``       s
``7``       t
``8``       b
``!``       i
``|``       l
``+``       t
==========  ===  =====================================================

Deliberately *not* substituted: ``2``, ``6`` and ``9`` (each stands for
several letters: 2/to/z, 6/b/g, 9/g/q), so they keep their meaning as digits
and still count as remaining characters. The table is the single source of
truth: ``scripts/build_banned_list.py`` imports it, so the shipped list and the
runtime check cannot drift apart.

Besides the table, :func:`normalise` folds case (``casefold``) and strips
accents (NFKD, combining marks dropped), so the name "Jürgen" blocks
"jurgen2024". The cloud profile only admits ASCII passwords, for which both
steps keep the length; the NIST profile only makes whole-string and substring
comparisons, where a change of length does not matter.
"""

import unicodedata
from types import MappingProxyType

SUBSTITUTIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "0": "o",
        "1": "l",
        "$": "s",
        "@": "a",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "!": "i",
        "|": "l",
        "+": "t",
    }
)

_TABLE = str.maketrans(dict(SUBSTITUTIONS))


def normalise(text: str) -> str:
    """Fold ``text`` to the form banned terms are stored and compared in.

    ASCII input keeps its length (position ``i`` of the result comes from
    position ``i`` of the input); the banned-password score relies on it.
    """
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return text.casefold().translate(_TABLE)
