"""The built-in store: argon2id hashes in our own database.

Unknown users still cost one full hash (``verify_dummy``) so sign-in time does
not reveal whether an account exists (attack A1).
"""

import secrets
from functools import cache

from django.contrib.auth.hashers import check_password, make_password

from opensspr.accounts.models import User
from opensspr.core import clock
from opensspr.directory.base import (
    DirectoryPasswordPolicy,
    Health,
    HealthState,
    PreparedPassword,
)


@cache
def _dummy_hash() -> str:
    return make_password(secrets.token_urlsafe(24))


class LocalDirectory:
    def verify_password(self, user: User, password: str) -> bool:
        if not user.has_usable_password():
            verify_dummy(password)
            return False
        return user.check_password(password)

    def prepare_password(self, user: User, password: str) -> PreparedPassword:
        """Hash ``password`` now, before the caller's write transaction opens.

        The argon2id hash takes tens of milliseconds; on SQLite, computed inside
        the transaction it would hold the single write lock all that time.
        """
        return PreparedPassword(password, make_password(password))

    def set_password(
        self,
        user: User,
        password: str | PreparedPassword,
        *,
        unlock: bool,
        must_change: bool = False,  # kept on the user row by the caller (must_change_password)
    ) -> None:
        if isinstance(password, PreparedPassword):
            user.password = password.encoded
            # Django's own marker: save() tells the password validators it changed.
            user._password = password.plaintext  # type: ignore[attr-defined]
        else:
            user.set_password(password)
        user.password_last_set = clock.now()
        user.save(update_fields=["password", "password_last_set"])

    def change_password(self, user: User, old: str, new: str) -> None:
        self.set_password(user, new, unlock=False)

    def unlock(self, user: User) -> None:
        """Smart lockout of cloud users lives in ``signin.lockout``; nothing to do here."""

    def password_policy(self, user: User) -> DirectoryPasswordPolicy | None:
        return None

    def check_health(self) -> Health:
        return Health(HealthState.HEALTHY)


def verify_dummy(password: str) -> None:
    """Spend the same work as a real verification, for users that don't exist."""
    check_password(password, _dummy_hash())
