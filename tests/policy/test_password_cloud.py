"""The cloud profile, rule by rule (reference §6.1)."""

import pytest

from opensspr.policy.passwords import (
    FailureCode,
    PasswordContext,
    PasswordProfile,
    check_password,
)

CLOUD = PasswordProfile.CLOUD
NOBODY = PasswordContext()
# Strong filler: no list term in it, all four classes, so only the rule under test fails.
SAFE = "Xq7#vKp2"


def codes(password: str, context: PasswordContext = NOBODY) -> tuple[str, ...]:
    return check_password(password, profile=CLOUD, context=context).codes


def padded(length: int) -> str:
    return (SAFE * (length // len(SAFE) + 1))[:length]


def test_accepts_when_password_meets_every_rule() -> None:
    verdict = check_password("Harbour-Lights-77", profile=CLOUD, context=NOBODY)
    assert verdict.accepted
    assert verdict.failures == ()


@pytest.mark.parametrize(("length", "expected"), [(7, ("too_short",)), (8, ()), (256, ())])
def test_length_boundaries_when_near_the_limits(length: int, expected: tuple[str, ...]) -> None:
    assert codes(padded(length)) == expected


def test_rejects_as_too_long_when_257_characters() -> None:
    assert codes(padded(257)) == ("too_long",)


@pytest.mark.parametrize("symbol", list("@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<> "))
def test_accepts_each_documented_symbol_and_space(symbol: str) -> None:
    assert FailureCode.DISALLOWED_CHARACTER not in codes(f"Xq7v{symbol}Kp2w")


@pytest.mark.parametrize(
    "password",
    ["Xq7vKp2wé", "Xq7vKp2w\t", "Xq7vKp2w😀", "Xq7vKp2wß", "Xq7vKp2w€", "Xq7v\u00a0Kp2w"],
)
def test_rejects_character_when_outside_the_allowed_set(password: str) -> None:
    assert FailureCode.DISALLOWED_CHARACTER in codes(password)


def test_disallowed_character_message_does_not_echo_the_character() -> None:
    verdict = check_password("Xq7vKp2wé", profile=CLOUD, context=NOBODY)
    (failure,) = verdict.failures
    assert "é" not in str(failure.message)


@pytest.mark.parametrize(
    "password", ["xqvkpwzm", "xqvkpwzmfjd", "xqvk7729", "XQVK#PWZ", "xq vk pw zm"]
)
def test_rejects_as_too_simple_when_fewer_than_three_classes(password: str) -> None:
    assert FailureCode.TOO_SIMPLE in codes(password)


@pytest.mark.parametrize("password", ["xqvkPWZM7", "xqvk#pw7zm", "XQVK#PW7ZM", "xqvk#PWZM"])
def test_accepts_when_three_classes(password: str) -> None:
    assert codes(password) == ()


def test_space_does_not_count_as_a_class() -> None:
    assert FailureCode.TOO_SIMPLE in codes("xqvk PWZM jfd")


def test_rejects_as_same_as_current_when_changing_to_the_same_password() -> None:
    context = PasswordContext(current_password="Harbour-Lights-77")
    assert codes("Harbour-Lights-77", context) == ("same_as_current",)


def test_accepts_when_new_password_differs_from_current_only_in_case() -> None:
    context = PasswordContext(current_password="harbour-lights-77")
    assert codes("Harbour-Lights-77", context) == ()


def test_does_not_compare_with_current_when_resetting() -> None:
    assert codes("Harbour-Lights-77", PasswordContext(current_password=None)) == ()


@pytest.mark.parametrize("password", ["Password1", "P@ssw0rd", "Qwerty123", "ILoveYou1"])
def test_rejects_as_common_when_in_djangos_list(password: str) -> None:
    assert FailureCode.COMMON_PASSWORD in codes(password)


def test_lists_every_failed_rule_when_several_fail() -> None:
    assert codes("pass") == ("too_short", "too_simple", "common_password", "banned_global")


def test_skips_banned_score_but_still_reports_when_far_too_long() -> None:
    assert codes("Password1!" * 10_000) == ("too_long",)
