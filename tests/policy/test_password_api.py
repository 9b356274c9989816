"""The public contract: value objects, messages, policy description, secrecy."""

import pytest
from django.utils import translation
from django.utils.functional import Promise

from opensspr.policy.passwords import (
    PasswordContext,
    PasswordProfile,
    PasswordVerdict,
    RuleFailure,
    check_password,
    describe_policy,
)

SECRET = "Current-Secret-4242"

# One password per failure code, for each profile, so every message is exercised.
FAILING = {
    PasswordProfile.CLOUD: [
        "Qz7!",
        "x" * 300,
        "Xq7vKp2wé",
        "xqvkpwzmfj",
        SECRET,
        "Password1",
        "Football1!",
        "C0ntos0Blank12",
    ],
    PasswordProfile.NIST: ["qzvk", "x" * 300, SECRET, "iloveyou", "opensspr is great!"],
}


def test_context_repr_never_shows_current_password() -> None:
    context = PasswordContext(current_password="x")
    assert "current_password" not in repr(context)
    assert "'x'" not in repr(context)
    assert SECRET not in repr(PasswordContext(current_password=SECRET))
    assert SECRET not in str(PasswordContext(current_password=SECRET))


@pytest.mark.parametrize("profile", list(PasswordProfile))
def test_every_failure_has_a_lazy_non_empty_message_without_the_password(
    profile: PasswordProfile,
) -> None:
    context = PasswordContext(
        organisation_name="Contoso", custom_banned_terms=("blank",), current_password=SECRET
    )
    seen: set[str] = set()
    for password in FAILING[profile]:
        verdict = check_password(password, profile=profile, context=context)
        assert not verdict.accepted
        for failure in verdict.failures:
            assert isinstance(failure.message, Promise)
            text = str(failure.message)
            assert len(text) > 20
            assert password not in text
            assert SECRET not in text
            assert SECRET not in repr(failure)
            seen.add(failure.code)
    expected = {
        PasswordProfile.CLOUD: {
            "too_short",
            "too_long",
            "disallowed_character",
            "too_simple",
            "same_as_current",
            "common_password",
            "banned_global",
            "banned_custom",
        },
        PasswordProfile.NIST: {
            "too_short",
            "too_long",
            "same_as_current",
            "common_password",
            "banned_global",
            "context_word",
        },
    }[profile]
    assert seen == expected


def test_messages_render_in_the_language_active_when_shown() -> None:
    verdict = check_password("short", profile=PasswordProfile.CLOUD, context=PasswordContext())
    with translation.override("en"):
        assert "at least 8 characters" in str(verdict.failures[0].message)


def test_verdict_accepted_only_when_no_failures() -> None:
    failure = RuleFailure(code="too_short", message="m")
    assert PasswordVerdict.from_failures([]).accepted
    assert not PasswordVerdict.from_failures([failure]).accepted


def test_profile_values_are_stable() -> None:
    assert PasswordProfile("cloud") is PasswordProfile.CLOUD
    assert PasswordProfile("nist_800_63b_4") is PasswordProfile.NIST


def test_context_is_frozen_and_hashable_when_given_a_list_of_terms() -> None:
    context = PasswordContext(custom_banned_terms=["blank"])  # type: ignore[arg-type]  # callers may pass lists
    assert context.custom_banned_terms == ("blank",)
    hash(context)
    with pytest.raises(AttributeError):
        context.surname = "x"  # type: ignore[misc]  # proving immutability


def test_describes_cloud_policy() -> None:
    lines = describe_policy(PasswordProfile.CLOUD, PasswordContext())
    assert all(isinstance(line, str) and line for line in lines)
    assert any("8" in line and "256" in line for line in lines)
    assert any("< >" in line for line in lines)
    assert not any("current" in line for line in lines)


def test_describes_nist_policy_with_configured_minimum() -> None:
    lines = describe_policy(PasswordProfile.NIST, PasswordContext(nist_min_length=12))
    assert any("12" in line and "256" in line for line in lines)


def test_describes_current_password_rule_only_on_a_change() -> None:
    lines = describe_policy(PasswordProfile.NIST, PasswordContext(current_password=""))
    assert any("current password" in line for line in lines)
