"""The typed errors every directory connector raises, and their stable codes.

No Django here: the LDAP connectors and the on-premises agent import this
module without settings. Each error carries a ``code`` from ``DirectoryCode``;
the person-facing wording for a code lives in ``opensspr.directory.messages``,
so a code never changes meaning once it ships (the agent sends it over the
wire). ``reason`` is the directory's own diagnostic, for operators only: it
never holds a password, and it is never shown to the person.
"""

from enum import StrEnum

# ruff: noqa: S105 - the codes below name password outcomes; none of them is a password


class DirectoryCode(StrEnum):
    """Why a directory operation did not succeed (also the agent's vocabulary)."""

    # The directory refused the new password (shown on the new-password step).
    PASSWORD_TOO_SHORT = "password_too_short"
    PASSWORD_TOO_LONG = "password_too_long"
    PASSWORD_IN_HISTORY = "password_in_history"
    PASSWORD_TOO_YOUNG = "password_too_young"
    PASSWORD_QUALITY = "password_quality"
    PASSWORD_POLICY = "password_policy"  # refused by policy, the directory didn't say which rule
    MUST_SUPPLY_OLD_PASSWORD = "must_supply_old_password"
    CHANGE_NOT_ALLOWED = "change_not_allowed"
    # The account: the person's own credentials or state.
    WRONG_PASSWORD = "wrong_password"
    ACCOUNT_LOCKED = "account_locked"
    ACCOUNT_DISABLED = "account_disabled"
    PASSWORD_EXPIRED = "password_expired"
    MUST_CHANGE_PASSWORD = "must_change_password"
    # Looking the person up (sspr-behaviour §7.7: ADUserNotFound, ADMutliMatch).
    USER_NOT_FOUND = "user_not_found"
    MULTIPLE_MATCHES = "multiple_matches"
    # The organisation's set-up (§7.4 OnPremisesAdminActionRequired, §7.6).
    PROTECTED_ACCOUNT = "protected_account"
    PERMISSION_DENIED = "permission_denied"
    SERVICE_BIND_FAILED = "service_bind_failed"
    POLICY_CONTROL_UNSUPPORTED = "policy_control_unsupported"
    # Reaching the directory (§7.4 OnPremisesConnectivityError).
    UNAVAILABLE = "directory_unavailable"
    TLS_FAILURE = "tls_failure"
    UNEXPECTED = "directory_error"


#: The directory refused the new password itself: the person chooses another one.
REJECTION_CODES = frozenset(
    {
        DirectoryCode.PASSWORD_TOO_SHORT,
        DirectoryCode.PASSWORD_TOO_LONG,
        DirectoryCode.PASSWORD_IN_HISTORY,
        DirectoryCode.PASSWORD_TOO_YOUNG,
        DirectoryCode.PASSWORD_QUALITY,
        DirectoryCode.PASSWORD_POLICY,
        DirectoryCode.MUST_SUPPLY_OLD_PASSWORD,
        DirectoryCode.CHANGE_NOT_ALLOWED,
    }
)


class DirectoryError(Exception):
    """Base of every directory failure; ``code`` is stable, ``reason`` is for operators."""

    code: str = DirectoryCode.UNEXPECTED

    def __init__(self, reason: str = "", *, code: str | None = None) -> None:
        if code is not None:
            self.code = code
        super().__init__(reason or self.code)
        self.reason = reason


class DirectoryRejectedError(DirectoryError):
    """The directory refused the new password (length, history, complexity, age...)."""

    def __init__(self, code: str, reason: str = "") -> None:
        super().__init__(reason, code=code)


class DirectoryUnavailableError(DirectoryError):
    """The directory could not be reached, timed out, or failed TLS validation.

    Nothing was written, or the connector cannot know (a lost response): callers
    never retry a password write blindly on this error (the reconciler reads the
    directory instead).
    """

    code = DirectoryCode.UNAVAILABLE
    #: False when the failure came before any write was sent (connect, TLS, bind):
    #: then nothing can have changed and the caller may say so at once.
    maybe_written: bool = True


class DirectoryAccountError(DirectoryError):
    """The account itself stops the operation: wrong password, locked, disabled, expired."""


class DirectoryLookupError(DirectoryError):
    """The user ID matched no entry, or more than one (never guess between two)."""


class DirectoryConfigurationError(DirectoryError):
    """The organisation must fix something: rights, protected accounts, server support."""


class ProtectedAccountError(DirectoryConfigurationError):
    """A protected account (AD ``adminCount=1``) is never reset or unlocked by us (§7.6)."""

    code = DirectoryCode.PROTECTED_ACCOUNT
