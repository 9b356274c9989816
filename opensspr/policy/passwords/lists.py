"""The word lists the password rules compare against, loaded once per process.

* the shipped global banned list, ``opensspr/policy/data/banned-global.txt``
  (built by ``scripts/build_banned_list.py``; provenance in its header);
* Django's bundled common-password list (20,000 entries, lower-cased);
* the organisation's custom list, indexed on first use and cached by value,
  so editing the list in the console takes effect on the next check.

Loading is the only I/O in the password engine; every loader is cached, and
the results are immutable, so the checks themselves stay pure.
"""

from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path

from django.contrib.auth.password_validation import CommonPasswordValidator

from opensspr.policy.passwords.fuzzy import TermIndex
from opensspr.policy.passwords.normalise import normalise

GLOBAL_LIST_PATH = Path(__file__).resolve().parent.parent / "data" / "banned-global.txt"


def read_term_file(path: Path) -> tuple[str, ...]:
    """Terms from a one-per-line file; ``#`` lines and blank lines are not terms."""
    with path.open(encoding="utf-8") as handle:
        lines = (line.strip() for line in handle)
        return tuple(line for line in lines if line and not line.startswith("#"))


@cache
def global_terms() -> frozenset[str]:
    return frozenset(normalise(term) for term in read_term_file(GLOBAL_LIST_PATH))


@cache
def global_index() -> TermIndex:
    return TermIndex.build(global_terms())


@lru_cache(maxsize=4)  # one organisation; a few entries cover edits in flight
def custom_index(terms: tuple[str, ...]) -> TermIndex:
    return TermIndex.build(normalise_terms(terms))


def normalise_terms(terms: Iterable[str]) -> frozenset[str]:
    return frozenset(normalise(term.strip()) for term in terms if term.strip())


@cache
def common_passwords() -> frozenset[str]:
    """Django's list as Django compares it: lower-cased whole passwords."""
    return frozenset(CommonPasswordValidator().passwords)


@cache
def common_passwords_normalised() -> frozenset[str]:
    """The same list through :func:`normalise`, for the NIST whole-string check."""
    return frozenset(normalise(entry) for entry in common_passwords())
