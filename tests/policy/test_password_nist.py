"""The NIST 800-63B-4 profile: length, whole-string blocklists, context words."""

import pytest

from opensspr.policy.passwords import PasswordContext, PasswordProfile, check_password

NIST = PasswordProfile.NIST
NOBODY = PasswordContext()


def codes(password: str, context: PasswordContext = NOBODY) -> tuple[str, ...]:
    return check_password(password, profile=NIST, context=context).codes


def test_accepts_15_lowercase_letters_by_default() -> None:
    assert codes("mistyharbourfog") == ()


def test_rejects_14_characters_by_default() -> None:
    assert codes("mistyharbourfo") == ("too_short",)


@pytest.mark.parametrize(("setting", "effective"), [(8, 8), (3, 8), (20, 20), (99, 64)])
def test_clamps_minimum_length_when_setting_is_out_of_range(setting: int, effective: int) -> None:
    context = PasswordContext(nist_min_length=setting)
    assert codes("q" + "z" * (effective - 3) + "v", context) == ("too_short",)
    assert codes("q" + "z" * (effective - 2) + "v", context) == ()


def test_accepts_eight_characters_when_minimum_is_set_to_8() -> None:
    assert codes("mistyfog", PasswordContext(nist_min_length=8)) == ()


def test_rejects_when_longer_than_256() -> None:
    assert codes("mistyfog " * 29) == ("too_long",)


def test_counts_each_code_point_as_one_character() -> None:
    assert codes("ñandú-mañanero") == ("too_short",)  # 14 code points
    assert codes("ñandú-mañaneros") == ()


@pytest.mark.parametrize(
    "password", ["ночной туман над гаванью", "霧の港で待つ夜の灯台", "café crème brûlée 🍮 ok"]
)
def test_accepts_unicode_and_emoji(password: str) -> None:
    assert codes(password, PasswordContext(nist_min_length=8)) == ()


def test_has_no_composition_rules() -> None:
    assert codes("aaaaaaaaaaaaaaab") == ()


def test_rejects_as_same_as_current_when_changing_to_the_same_password() -> None:
    context = PasswordContext(current_password="mistyharbourfog")
    assert codes("mistyharbourfog", context) == ("same_as_current",)


@pytest.mark.parametrize("password", ["password", "Iloveyou", "qwertyuiop", "P@ssw0rd"])
def test_rejects_as_common_when_whole_password_is_in_djangos_list(password: str) -> None:
    assert "common_password" in codes(password, PasswordContext(nist_min_length=8))


def test_accepts_common_password_inside_a_longer_one() -> None:
    assert codes("password on a misty harbour") == ()


def test_rejects_whole_string_custom_term_after_normalisation() -> None:
    context = PasswordContext(custom_banned_terms=("Fabrikam2024",), nist_min_length=8)
    assert codes("F@brikam2024", context) == ("banned_custom",)


def test_rejects_whole_string_global_term() -> None:
    assert codes("Football", PasswordContext(nist_min_length=8)) == (
        "common_password",
        "banned_global",
    )


@pytest.mark.parametrize(
    ("password", "context"),
    [
        ("wilhelmina in the harbour", PasswordContext(given_name="Wilhelmina")),
        ("harbour fog and kuiper", PasswordContext(surname="Kuiper")),
        ("harbour fog and kuiper", PasswordContext(display_name="Mina Kuiper")),
        ("fabrikam harbour fog", PasswordContext(organisation_name="Fabrikam")),
        ("harbour fog j.kuiper x", PasswordContext(user_id="j.kuiper@fabrikam.example")),
        ("my 0pen$$pr harbour fog", NOBODY),
    ],
)
def test_rejects_context_word_when_password_contains_it(
    password: str, context: PasswordContext
) -> None:
    assert codes(password, context) == ("context_word",)


def test_ignores_context_words_shorter_than_four_characters() -> None:
    context = PasswordContext(given_name="Jan", user_id="jan@fabrikam.example")
    assert codes("jan walks the harbour", context) == ()
