"""Validation of an organisation's custom banned list, as typed into the console.

Limits follow reference §6.3: at most 1000 terms, each 4-16 characters.
Terms that become equal after normalisation ("P@ssword", "password") are
reported, because the second one blocks nothing extra and the admin
probably expected it to.
"""

from collections.abc import Iterable

from django.utils.translation import gettext, ngettext

from opensspr.policy.passwords.normalise import normalise

MAX_TERMS = 1000
MIN_TERM_CHARS = 4
MAX_TERM_CHARS = 16


def validate_custom_banned_terms(terms: Iterable[str]) -> list[str]:
    """Errors in the active language, one per problem; an empty list means the list is fine.

    Blank entries are ignored rather than reported (a trailing newline is not
    a term). The terms are the admin's own input, so quoting them is fine.
    """
    cleaned = [term.strip() for term in terms if term.strip()]
    errors: list[str] = []
    if len(cleaned) > MAX_TERMS:
        errors.append(
            ngettext(
                "Enter at most %(max)d terms; this list has %(count)d term.",
                "Enter at most %(max)d terms; this list has %(count)d terms.",
                len(cleaned),
            )
            % {"max": MAX_TERMS, "count": len(cleaned)}
        )
    errors.extend(_term_length_errors(cleaned))
    errors.extend(_duplicate_errors(cleaned))
    return errors


def _term_length_errors(terms: list[str]) -> list[str]:
    errors: list[str] = []
    for term in terms:
        if not MIN_TERM_CHARS <= len(term) <= MAX_TERM_CHARS:
            errors.append(
                ngettext(
                    "“%(term)s” has %(length)d character; each term needs %(min)d to %(max)d.",
                    "“%(term)s” has %(length)d characters; each term needs %(min)d to %(max)d.",
                    len(term),
                )
                % {"term": term, "length": len(term), "min": MIN_TERM_CHARS, "max": MAX_TERM_CHARS}
            )
    return errors


def _duplicate_errors(terms: list[str]) -> list[str]:
    first_seen: dict[str, str] = {}
    errors: list[str] = []
    for term in terms:
        key = normalise(term)
        if key in first_seen:
            errors.append(
                gettext(
                    "“%(term)s” repeats “%(first)s”: terms ignore case and common "
                    "substitutions such as @ for a."
                )
                % {"term": term, "first": first_seen[key]}
            )
        else:
            first_seen[key] = term
    return errors
