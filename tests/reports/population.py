"""Registered security info for tests: apps, answers and proofs, built like the real thing.

Contact data goes through ``user_factory`` (the directory service). Apps carry a
real sealed seed; answers are stored with a placeholder hash unless a test needs
a real one (argon2id per answer would make seeded populations slow).
"""

from typing import Any

import pyotp

from opensspr.core import clock
from opensspr.core.crypto import seal
from opensspr.methods.models import AuthenticatorApp, SecurityAnswer
from opensspr.methods.questions import predefined_key
from opensspr.registration.models import RegistrationState


def add_app(user: Any, *, confirmed: bool = True) -> AuthenticatorApp:
    return AuthenticatorApp.objects.create(
        user=user,
        secret_sealed=seal(pyotp.random_base32()),
        confirmed_at=clock.now() if confirmed else None,
    )


def answer(user: Any, count: int, *, keys: tuple[str, ...] = ()) -> None:
    """``count`` answers to built-in questions, plus one per extra key (custom questions)."""
    rows = [predefined_key(n) for n in range(1, count + 1)] + list(keys)
    SecurityAnswer.objects.bulk_create(
        SecurityAnswer(user=user, question_key=key, answer_hash="placeholder") for key in rows
    )


def prove(user: Any, *fields: str, confirmed: bool = True) -> RegistrationState:
    """The person proved ``fields`` ("auth_email", "mobile_phone", ...) and confirmed now."""
    now = clock.now()
    state, _created = RegistrationState.objects.update_or_create(
        user=user,
        defaults={f"{name}_proven_at": now for name in fields}
        | {"confirmed_at": now if confirmed else None},
    )
    return state
