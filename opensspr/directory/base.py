"""The contract every directory connector keeps.

A connector is where a user's password really lives: the built-in store for
cloud users, LDAP or Active Directory for synchronised users. Services call a
connector and then record the result; a connector never audits, never decides
policy and never touches a request. A directory that refuses a password raises
``DirectoryRejectedError`` carrying a stable code the person is shown.
"""

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from opensspr.accounts.models import User
from opensspr.core.health import Health, HealthState  # noqa: F401 (re-exported)
from opensspr.directory.errors import (  # noqa: F401 (re-exported)
    DirectoryCode,
    DirectoryError,
    DirectoryRejectedError,
    DirectoryUnavailableError,
)
from opensspr.directory.values import AccountState, DirectoryPasswordPolicy


@dataclass(frozen=True)
class PreparedPassword:
    """A new password made ready before the write's transaction opens (its slow hash done).

    Offered by connectors that store a hash themselves (``prepare_password``);
    ``set_password`` of such a connector takes it in place of the plain text.
    """

    plaintext: str = field(repr=False)
    encoded: str = field(repr=False)  # what the store keeps (the built-in store: argon2id)


class DirectoryConnector(Protocol):
    def verify_password(self, user: User, password: str) -> bool: ...

    def set_password(
        self, user: User, password: str, *, unlock: bool, must_change: bool = False
    ) -> None: ...

    def change_password(self, user: User, old: str, new: str) -> None: ...

    def unlock(self, user: User) -> None: ...

    def password_policy(self, user: User) -> DirectoryPasswordPolicy | None: ...

    def check_health(self) -> Health: ...


@runtime_checkable
class OnPremisesConnector(DirectoryConnector, Protocol):
    """A directory of the organisation's own (direct or through an agent).

    Beyond the contract it offers what the crash-safe writeback reads: the
    password marker (``writeback``) and the account's state.
    """

    def password_marker(self, user: User) -> str | None: ...

    def account_state(self, user: User) -> AccountState: ...
