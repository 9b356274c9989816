"""The shipped global list: reproducible, sized sensibly, and not blocking strong passwords."""

import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest

from opensspr.policy.passwords import PasswordContext, PasswordProfile, check_password, score_banned
from opensspr.policy.passwords.lists import GLOBAL_LIST_PATH, global_terms, read_term_file

REPO = Path(__file__).resolve().parents[2]
SYMBOLS = "@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<>"


def test_global_list_is_up_to_date_with_its_build_script() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_banned_list.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_global_list_has_provenance_header_and_a_sensible_size() -> None:
    header = [
        line
        for line in GLOBAL_LIST_PATH.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    ]
    assert any("common-passwords.txt.gz" in line for line in header)
    assert any("build_banned_list.py" in line for line in header)
    terms = read_term_file(GLOBAL_LIST_PATH)
    assert 1000 <= len(terms) <= 3000
    assert list(terms) == sorted(set(terms))
    assert all(4 <= len(term) <= 16 for term in terms)


@pytest.mark.parametrize("term", ["password", "welcome", "qwerty", "summer", "letmein", "l2eas6"])
def test_global_list_holds_generic_terms_and_keyboard_walks(term: str) -> None:
    assert term in global_terms()


def _strong_random_password(length: int) -> str:
    alphabet = string.ascii_letters + string.digits + SYMBOLS
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits, SYMBOLS]
        if all(any(ch in group for ch in password) for group in classes):
            return password


def test_accepts_random_twelve_character_passwords() -> None:
    rejected = [
        password
        for password in (_strong_random_password(12) for _ in range(20))
        if not check_password(
            password, profile=PasswordProfile.CLOUD, context=PasswordContext()
        ).accepted
    ]
    assert rejected == []


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("Correct-Horse-Battery-9", True),
        ("correct horse battery Staple 7", True),
        ("Summer2024!", False),
        ("Welcome2024!", False),
        ("Liverpool#1", False),
        ("Qwerty123!", False),
    ],
)
def test_passphrases_pass_and_decorated_words_fail(password: str, accepted: bool) -> None:
    assert score_banned(password, context=PasswordContext()).accepted is accepted
