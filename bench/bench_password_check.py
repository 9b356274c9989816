"""Print how many password checks per second the policy engine does, per length and profile.

Run from the repository root: ``.venv/bin/python bench/bench_password_check.py``.
Passwords are random (all four character classes), so the figures show the
cost of a full scan with no early exit; the context carries an organisation
name and 100 custom terms, as a configured tenant would.
"""

import secrets
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a plain checkout

from opensspr.policy.passwords import PasswordContext, PasswordProfile, check_password, lists

ALPHABET = string.ascii_letters + string.digits + "@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<> "
LENGTHS = (8, 16, 64, 256)
SAMPLES = 200
CONTEXT = PasswordContext(
    given_name="Wilhelmina",
    surname="Kuiper",
    organisation_name="Contoso",
    custom_banned_terms=tuple(f"contoso{n:03d}" for n in range(100)),
)


def random_password(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def checks_per_second(passwords: list[str], profile: PasswordProfile) -> float:
    started = time.perf_counter()
    for password in passwords:
        check_password(password, profile=profile, context=CONTEXT)
    return len(passwords) / (time.perf_counter() - started)


def main() -> None:
    started = time.perf_counter()
    lists.global_index()
    lists.common_passwords_normalised()
    check_password("warm-up-Pass1", profile=PasswordProfile.CLOUD, context=CONTEXT)
    cold_ms = (time.perf_counter() - started) * 1000
    print(f"cold start (load lists, build indexes): {cold_ms:.0f} ms")
    print(f"{'length':>6}  {'profile':<16}{'checks/s':>10}  {'ms/check':>9}")
    for length in LENGTHS:
        passwords = [random_password(length) for _ in range(SAMPLES)]
        for profile in PasswordProfile:
            rate = checks_per_second(passwords, profile)
            print(f"{length:>6}  {profile.value:<16}{rate:>10.0f}  {1000 / rate:>9.3f}")


if __name__ == "__main__":
    main()
