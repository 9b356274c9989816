"""Value objects connectors return, free of Django so the agent shares them."""

from dataclasses import dataclass
from datetime import datetime, timedelta

#: An entry's attributes as read: lower-cased names to raw values.
Attributes = dict[str, list[bytes]]


@dataclass(frozen=True)
class DirectoryPasswordPolicy:
    """What the directory itself enforces, shown beside our own rules.

    ``None`` means the directory does not say (or does not enforce) that rule.
    """

    min_length: int | None = None
    history: int | None = None
    complexity: bool = False
    min_age: timedelta | None = None
    max_age: timedelta | None = None
    lockout_threshold: int | None = None
    source: str = ""  # where it came from: "ppolicy:<dn>", "domain", "pso:<dn>"


@dataclass(frozen=True)
class DirectoryAccount:
    """One entry found by a lookup: the DN always comes from the directory, never a client."""

    dn: str
    user_id: str


@dataclass(frozen=True)
class AccountState:
    """A user's password and lockout state as the directory reports it."""

    locked: bool
    disabled: bool
    must_change: bool
    password_expired: bool
    password_changed_at: datetime | None
    password_expires_at: datetime | None
    protected: bool = False
