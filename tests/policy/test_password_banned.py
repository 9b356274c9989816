"""Banned-password normalisation, fuzzy matching and scoring (reference §6.3)."""

import itertools

import pytest

from opensspr.policy.passwords import (
    ACCEPT_SCORE,
    PasswordContext,
    PasswordProfile,
    check_password,
    normalise,
    score_banned,
)
from opensspr.policy.passwords.fuzzy import TermIndex

CONTOSO = PasswordContext(organisation_name="Contoso", custom_banned_terms=("blank",))
EMPTY_GLOBAL = TermIndex.build(())


def cloud_codes(password: str, context: PasswordContext) -> tuple[str, ...]:
    return check_password(password, profile=PasswordProfile.CLOUD, context=context).codes


def test_worked_example_scores_4_and_is_rejected_when_names_and_custom_terms_cover_it() -> None:
    score = score_banned("C0ntos0Blank12", context=CONTOSO)
    assert score.score == 4
    assert score.terms == ("contoso", "blank")
    assert cloud_codes("C0ntos0Blank12", CONTOSO) == ("banned_custom",)


def test_worked_example_scores_5_and_is_accepted_when_three_characters_remain() -> None:
    score = score_banned("ContoS0Bl@nkf9!", context=CONTOSO)
    assert score.score == ACCEPT_SCORE == 5
    assert score.terms == ("contoso", "blank")
    assert cloud_codes("ContoS0Bl@nkf9!", CONTOSO) == ()


def test_normalises_case_and_substitutions_when_matching() -> None:
    assert normalise("Bl@nK") == "blank"
    assert normalise("P4$$w0rd!|+3578") == "passwordiltestb"
    assert normalise("269") == "269"  # ambiguous digits stay digits
    assert score_banned("Bl@nK", context=CONTOSO, global_index=EMPTY_GLOBAL).terms == ("blank",)


@pytest.mark.parametrize(
    ("password", "expected_score"),
    [
        ("abcdef", 1),
        ("abcdeg", 1),  # substitution
        ("abcde", 1),  # deletion
        ("xbcdef", 1),  # substitution of the first character
        ("abXcdef", 1),  # interior insertion
        ("abcdefg", 2),  # insertion at the end: the exact term plus a leftover "g"
    ],
)
def test_matches_term_when_one_edit_away(password: str, expected_score: int) -> None:
    context = PasswordContext(custom_banned_terms=("abcdef",))
    score = score_banned(password, context=context, global_index=EMPTY_GLOBAL)
    assert score.terms == ("abcdef",)
    assert score.score == expected_score


@pytest.mark.parametrize("password", ["abcxyz", "abdcfe", "abXYcdef", "bcde"])
def test_does_not_match_when_two_edits_away(password: str) -> None:
    context = PasswordContext(custom_banned_terms=("abcdef",))
    score = score_banned(password, context=context, global_index=EMPTY_GLOBAL)
    assert score.terms == ()


def test_matches_term_inside_a_longer_password() -> None:
    context = PasswordContext(custom_banned_terms=("abcdef",))
    score = score_banned("Zq!abcdeg#9", context=context, global_index=EMPTY_GLOBAL)
    assert score.score == 6  # z q ! [abcdef] # 9


def test_insertion_at_window_edge_counts_as_leftover_character() -> None:
    context = PasswordContext(custom_banned_terms=("blank",))
    assert score_banned("blankf", context=context, global_index=EMPTY_GLOBAL).score == 2


def test_four_character_term_matches_only_exactly() -> None:
    context = PasswordContext(custom_banned_terms=("wxyz",))
    exact = score_banned("wxyz", context=context, global_index=EMPTY_GLOBAL)
    near = score_banned("wxyq", context=context, global_index=EMPTY_GLOBAL)
    assert (exact.score, near.score) == (1, 4)


def test_takes_cheapest_cover_when_matches_overlap() -> None:
    context = PasswordContext(custom_banned_terms=("abcd", "cdefgh", "ghij"))
    # a b [cdefgh] i j = 5, but [abcd] e f [ghij] = 4: the cheaper cover wins.
    assert score_banned("abcdefghij", context=context, global_index=EMPTY_GLOBAL).score == 4


def test_rejects_when_surname_is_in_the_password_even_at_score_5() -> None:
    context = PasswordContext(surname="Poll")
    score = score_banned("p0LL23fb", context=context, global_index=EMPTY_GLOBAL)
    assert (score.score, score.terms) == (5, ("poll",))  # poll + 2 + e + f + b
    assert score.contains_user_name
    assert not score.accepted
    assert cloud_codes("p0LL23fb", context) == ("banned_custom",)


def test_accepts_same_password_when_the_user_has_another_name() -> None:
    assert cloud_codes("p0LL23fb", PasswordContext(surname="Jansen")) == ()


def test_scores_organisation_name_without_rejecting_on_sight() -> None:
    context = PasswordContext(organisation_name="Fabrikam")
    score = score_banned("Fabrikam-Zq7!x", context=context, global_index=EMPTY_GLOBAL)
    assert (score.score, score.accepted) == (7, True)


def test_does_not_check_surname_when_shorter_than_four_characters() -> None:
    context = PasswordContext(surname="Pol")
    score = score_banned("p0L23fb", context=context, global_index=EMPTY_GLOBAL)
    assert (score.terms, score.contains_user_name) == ((), False)


def test_matches_names_only_exactly() -> None:
    context = PasswordContext(given_name="Maarten")
    assert score_banned("Maarte", context=context, global_index=EMPTY_GLOBAL).terms == ()
    assert score_banned("Ma4rten", context=context, global_index=EMPTY_GLOBAL).terms == ("maarten",)


def test_does_not_derive_names_from_display_name_when_names_are_empty() -> None:
    context = PasswordContext(display_name="Wilhelmina Kuiper")
    assert score_banned("Kuiper!Zq", context=context, global_index=EMPTY_GLOBAL).terms == ()


def test_matches_each_word_of_a_multi_word_organisation_name() -> None:
    context = PasswordContext(organisation_name="Fabrikam Holdings")
    score = score_banned("Holdings2!", context=context, global_index=EMPTY_GLOBAL)
    assert score.terms == ("holdings",)


def test_reports_global_when_the_global_list_alone_rejects() -> None:
    context = PasswordContext(custom_banned_terms=("football",))
    assert "banned_global" in cloud_codes("Football1!", context)


def test_ignores_custom_terms_shorter_than_four_characters() -> None:
    context = PasswordContext(custom_banned_terms=("q", "zx"))
    assert score_banned("Zq7xQz", context=context, global_index=EMPTY_GLOBAL).terms == ()


def _one_edit(window: str, term: str) -> bool:
    """Reference definition, slow and obvious, for cross-checking the index."""
    if window == term:
        return True
    if len(term) < 5:
        return False
    if len(window) == len(term):
        return sum(a != b for a, b in zip(window, term, strict=True)) == 1
    if len(window) == len(term) - 1:
        return any(term[:p] + term[p + 1 :] == window for p in range(len(term)))
    if len(window) == len(term) + 1 and term not in (window[1:], window[:-1]):
        return any(window[:p] + window[p + 1 :] == term for p in range(1, len(window) - 1))
    return False


def test_index_finds_exactly_the_windows_a_naive_scan_finds() -> None:
    terms = ("abcab", "bbbb", "cabcac", "aaaaa")
    index = TermIndex.build(terms)
    for length in range(4, 8):
        for letters in itertools.product("abcx", repeat=length):
            text = "".join(letters)
            fast = {(m.start, m.end) for m in index.find(text)}
            slow = {
                (i, j)
                for i in range(len(text))
                for j in range(i + 4, len(text) + 1)
                if any(_one_edit(text[i:j], t) for t in terms)
            }
            assert fast == slow, text
