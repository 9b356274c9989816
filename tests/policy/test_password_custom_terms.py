"""Validation of the organisation's custom banned list (console form)."""

from opensspr.policy.passwords import validate_custom_banned_terms


def test_accepts_a_valid_list() -> None:
    assert validate_custom_banned_terms(["Contoso", "blank", "Amsterdam", "x" * 16, "abcd"]) == []


def test_rejects_when_more_than_1000_terms() -> None:
    terms = [f"term{n:05d}" for n in range(1001)]
    errors = validate_custom_banned_terms(terms)
    assert len(errors) == 1
    assert "1000" in errors[0]
    assert "1001" in errors[0]


def test_accepts_exactly_1000_terms() -> None:
    assert validate_custom_banned_terms([f"term{n:05d}" for n in range(1000)]) == []


def test_rejects_term_when_three_characters() -> None:
    errors = validate_custom_banned_terms(["Contoso", "abc"])
    assert len(errors) == 1
    assert "abc" in errors[0]


def test_rejects_term_when_seventeen_characters() -> None:
    errors = validate_custom_banned_terms(["y" * 17])
    assert len(errors) == 1
    assert "17" in errors[0]


def test_measures_length_after_stripping() -> None:
    assert validate_custom_banned_terms(["  abc  "]) != []
    assert validate_custom_banned_terms(["  abcd  ", "", "   "]) == []


def test_reports_duplicate_when_equal_after_normalisation() -> None:
    errors = validate_custom_banned_terms(["password", "P@SSW0RD", "Contoso"])
    assert len(errors) == 1
    assert "P@SSW0RD" in errors[0]
    assert "password" in errors[0]
