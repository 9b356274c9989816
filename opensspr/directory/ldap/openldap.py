"""OpenLDAP with the ppolicy overlay.

Resets go through the Password Modify extended operation (RFC 3062) as the
service account, which must not be the rootdn (the rootdn bypasses ppolicy);
changes bind as the person first, so a wrong current password is checked and
counted by the directory itself. Every call carries the ppolicy request
control, so the server's reason (too short, in history, too young...) comes
back as a stable code.
"""

import hashlib
from datetime import UTC, datetime, timedelta

from ldap3 import MODIFY_DELETE, MODIFY_REPLACE, Connection

from opensspr.core.health import Health, HealthState
from opensspr.directory.errors import (
    DirectoryAccountError,
    DirectoryCode,
    DirectoryError,
)
from opensspr.directory.ldap import ppolicy
from opensspr.directory.ldap.common import (
    INVALID_CREDENTIALS,
    NO_SUCH_ATTRIBUTE,
    SUCCESS,
    UNWILLING,
    Attributes,
    LdapDirectoryBase,
    error_for,
    first_int,
    first_text,
    generalized_time,
    release,
)
from opensspr.directory.ldap.connection import translated
from opensspr.directory.values import AccountState, DirectoryPasswordPolicy

CONTROLS = [ppolicy.REQUEST_CONTROL]
STATE_ATTRIBUTES = ("pwdAccountLockedTime", "pwdChangedTime", "pwdReset", "pwdPolicySubentry")
POLICY_ATTRIBUTES = (
    "pwdMinLength",
    "pwdInHistory",
    "pwdCheckQuality",
    "pwdCheckModule",
    "pwdMinAge",
    "pwdMaxAge",
    "pwdLockout",
    "pwdMaxFailure",
    "pwdLockoutDuration",
)
PERMANENT_LOCK = "000001010000Z"  # an administrator's lock, removed only by hand


class OpenLdapDirectory(LdapDirectoryBase):
    """Reset, change, unlock and state for OpenLDAP with ppolicy."""

    def verify_password(self, dn: str, password: str) -> bool:
        """True when the directory accepts the password.

        Raises ``account_locked`` or ``password_expired`` when ppolicy says so
        (then the password's correctness is unknown), and ``must_change_password``
        when the password is right but was set by an administrator.
        """
        if not password:
            return False
        connection, bound = self.bind_as(dn, password, CONTROLS)
        try:
            response = ppolicy.from_result(connection.result)
            if bound:
                if response.error is ppolicy.PpolicyError.CHANGE_AFTER_RESET:
                    raise DirectoryAccountError(code=DirectoryCode.MUST_CHANGE_PASSWORD)
                return True
            if connection.result["result"] != INVALID_CREDENTIALS:
                raise error_for(connection.result)
            if response.error is not None:
                raise DirectoryAccountError(code=ppolicy.CODES[response.error])
            return False
        finally:
            release(connection)

    def set_password(
        self, dn: str, password: str, *, unlock: bool, must_change: bool = False
    ) -> None:
        """Reset as the service account; ppolicy's length, history and age rules apply."""
        with self.pool.connection() as connection:
            done = connection.extend.standard.modify_password(
                user=dn, new_password=password, controls=CONTROLS
            )
            if not done:
                raise _refusal(connection.result)
            after = self.read(connection, dn, ("pwdAccountLockedTime", "pwdReset"))
            changes: dict[str, list] = {}
            if unlock and "pwdaccountlockedtime" in after:
                changes["pwdAccountLockedTime"] = [(MODIFY_DELETE, [])]
            if must_change:
                changes["pwdReset"] = [(MODIFY_REPLACE, ["TRUE"])]
            elif (
                "pwdreset" in after
            ):  # set by pwdMustChange: a person's own reset needs no second change
                changes["pwdReset"] = [(MODIFY_DELETE, [])]
            if changes and not connection.modify(dn, changes):
                raise error_for(connection.result)

    def change_password(self, dn: str, old: str, new: str) -> None:
        """The person's own change: bound as them, the old password checked by the directory."""
        connection, bound = self.bind_as(dn, old, CONTROLS)
        try:
            if not bound:
                raise _bind_refusal(connection.result)
            with translated():
                done = connection.extend.standard.modify_password(
                    user=dn, old_password=old, new_password=new, controls=CONTROLS
                )
            if not done:
                raise _refusal(connection.result)
        finally:
            release(connection)

    def unlock(self, dn: str) -> None:
        """Remove ``pwdAccountLockedTime``; an account that isn't locked stays as it is."""
        with self.pool.connection() as connection:
            connection.modify(dn, {"pwdAccountLockedTime": [(MODIFY_DELETE, [])]})
            if connection.result["result"] not in (SUCCESS, NO_SUCH_ATTRIBUTE):
                raise error_for(connection.result)

    def password_marker(self, dn: str) -> str | None:
        """What changes with every password write: ``pwdChangedTime``, and a digest of the
        stored hash where the service account may read it (it may, having write access).

        The crash-safe writeback compares it before and after a write that lost its
        answer, instead of writing again (a retry could fail on history).
        ``pwdChangedTime`` alone has whole seconds: two writes in one second look alike,
        while the salted hash differs every time. Only a digest of the hash leaves here.
        """
        with self.pool.connection() as connection:
            entry = self.read(connection, dn, ("pwdChangedTime", "userPassword"))
        changed = first_text(entry, "pwdChangedTime")
        stored = entry.get("userpassword") or []
        if not stored:
            return changed
        digest = hashlib.sha256(b"\0".join(sorted(stored))).hexdigest()[:24]
        return f"{changed or '-'}|{digest}"

    def account_state(self, dn: str, *, now: datetime | None = None) -> AccountState:
        now = now or datetime.now(UTC)
        with self.pool.connection() as connection:
            entry = self.read(connection, dn, STATE_ATTRIBUTES)
            policy = self._policy_entry(connection, entry)
        changed = generalized_time(first_text(entry, "pwdChangedTime"))
        max_age = _seconds(policy, "pwdMaxAge")
        expires = changed + max_age if changed and max_age else None
        return AccountState(
            locked=_locked(entry, policy, now),
            disabled=False,  # OpenLDAP has no standard "disabled" flag
            must_change=(first_text(entry, "pwdReset") or "").upper() == "TRUE",
            password_expired=bool(expires and expires <= now),
            password_changed_at=changed,
            password_expires_at=expires,
        )

    def password_policy(self, dn: str) -> DirectoryPasswordPolicy:
        """The ppolicy that applies to ``dn`` (its own subentry, else the default)."""
        with self.pool.connection() as connection:
            entry = self.read(connection, dn, ("pwdPolicySubentry",))
            policy = self._policy_entry(connection, entry)
            source = first_text(entry, "pwdPolicySubentry") or self.config.default_policy_dn or ""
        lockout = (first_text(policy, "pwdLockout") or "").upper() == "TRUE"
        return DirectoryPasswordPolicy(
            min_length=first_int(policy, "pwdMinLength"),
            history=first_int(policy, "pwdInHistory"),
            complexity=bool(first_text(policy, "pwdCheckModule")),
            min_age=_seconds(policy, "pwdMinAge"),
            max_age=_seconds(policy, "pwdMaxAge"),
            lockout_threshold=first_int(policy, "pwdMaxFailure") if lockout else None,
            source=f"ppolicy:{source}" if source else "ppolicy",
        )

    def check_health(self) -> Health:
        try:
            with self.pool.connection() as connection:
                self.read(connection, self.config.user_base, ("objectClass",))
        except DirectoryError as exc:
            return Health(HealthState.DOWN, str(exc.code))
        return Health(HealthState.HEALTHY)

    def _policy_entry(self, connection: Connection, entry: Attributes) -> Attributes:
        dn = first_text(entry, "pwdPolicySubentry") or self.config.default_policy_dn
        return self.read(connection, dn, POLICY_ATTRIBUTES) if dn else {}


def _seconds(policy: Attributes, name: str) -> timedelta | None:
    value = first_int(policy, name)
    return timedelta(seconds=value) if value else None


def _locked(entry: Attributes, policy: Attributes, now: datetime) -> bool:
    text = first_text(entry, "pwdAccountLockedTime")
    if not text:
        return False
    duration = _seconds(policy, "pwdLockoutDuration")
    locked_at = generalized_time(text)
    if text == PERMANENT_LOCK or duration is None or locked_at is None:
        return True
    return locked_at + duration > now


def _refusal(result: dict) -> DirectoryError:
    """A refused password operation, told apart by the ppolicy control."""
    response = ppolicy.from_result(result)
    if response.error is not None:
        return error_for(result, ppolicy.CODES[response.error])
    if result.get("result") == UNWILLING and "old password" in str(result.get("message", "")):
        return error_for(result, DirectoryCode.WRONG_PASSWORD)  # exop with a wrong old password
    return error_for(result)


def _bind_refusal(result: dict) -> DirectoryError:
    response = ppolicy.from_result(result)
    if response.error is not None:
        return error_for(result, ppolicy.CODES[response.error])
    if result.get("result") == INVALID_CREDENTIALS:
        return error_for(result, DirectoryCode.WRONG_PASSWORD)
    return error_for(result)
