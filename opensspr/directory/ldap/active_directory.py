"""Active Directory (and Samba AD): ``unicodePwd`` over TLS, AD's own semantics.

A reset replaces ``unicodePwd`` as the service account with the policy-hints
control, so history, length, complexity and minimum age (domain policy or the
user's fine-grained policy) apply as they would to the person's own change;
the same modify sets ``pwdLastSet`` (-1: now, so no forced change; 0: must
change) and, when unlocking, ``lockoutTime=0``, so nothing is half done. A
change is delete-old/add-new bound as the person. Protected accounts
(``adminCount=1``) are never reset or unlocked (sspr-behaviour §7.6).
"""

from datetime import UTC, datetime, timedelta

from ldap3 import MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE, Connection

from opensspr.core.health import Health, HealthState
from opensspr.directory.errors import (
    DirectoryCode,
    DirectoryError,
    ProtectedAccountError,
)
from opensspr.directory.ldap import ad_codes
from opensspr.directory.ldap.common import (
    INVALID_CREDENTIALS,
    Attributes,
    LdapDirectoryBase,
    error_for,
    first_int,
    first_text,
    release,
)
from opensspr.directory.ldap.config import LdapConfig
from opensspr.directory.ldap.connection import translated
from opensspr.directory.values import AccountState, DirectoryPasswordPolicy

# LDAP_SERVER_POLICY_HINTS_OID (Windows Server 2012 R2+, Samba); 1.2.840.113556.1.4.2066 is
# the older OID of the same control. Critical: a DC that ignores it must refuse, not skip policy.
POLICY_HINTS_OID = "1.2.840.113556.1.4.2239"
POLICY_HINTS_VALUE = b"\x30\x03\x02\x01\x01"  # SEQUENCE { Flags INTEGER 1 }
HINTS_CONTROL = (POLICY_HINTS_OID, True, POLICY_HINTS_VALUE)
UF_ACCOUNTDISABLE = 0x2
UF_LOCKOUT = 0x10
UF_PASSWORD_EXPIRED = 0x800000
NEVER = 0x7FFFFFFFFFFFFFFF
STATE_ATTRIBUTES = (
    "adminCount",
    "userAccountControl",
    "msDS-User-Account-Control-Computed",
    "pwdLastSet",
    "msDS-UserPasswordExpiryTimeComputed",
)
DOMAIN_POLICY = (
    "minPwdLength",
    "pwdHistoryLength",
    "pwdProperties",
    "minPwdAge",
    "maxPwdAge",
    "lockoutThreshold",
)
PSO_POLICY = (
    "msDS-MinimumPasswordLength",
    "msDS-PasswordHistoryLength",
    "msDS-PasswordComplexityEnabled",
    "msDS-MinimumPasswordAge",
    "msDS-MaximumPasswordAge",
    "msDS-LockoutThreshold",
)


def ad_config(**values: object) -> LdapConfig:
    """An ``LdapConfig`` with AD's defaults for the lookup."""
    defaults: dict = {
        "user_id_attribute": "sAMAccountName",
        "user_object_filter": "(&(objectCategory=person)(objectClass=user))",
    }
    return LdapConfig(**(defaults | values))


def encode_password(password: str) -> bytes:
    """AD's ``unicodePwd`` value: the password in double quotes, UTF-16LE."""
    return f'"{password}"'.encode("utf-16-le")


class ActiveDirectory(LdapDirectoryBase):
    """Reset, change, unlock and state for Active Directory and Samba AD.

    ``policy_hints=False`` is for DCs without the control (Samba, 4.22 included):
    a reset then applies length and complexity but not history or minimum age,
    like any administrator reset. With it on (the default) such a DC refuses
    every reset with ``policy_control_unsupported``, never silently skipping policy.
    """

    def __init__(self, config: LdapConfig, *, policy_hints: bool = True) -> None:
        super().__init__(config)
        self.policy_hints = policy_hints

    def verify_password(self, dn: str, password: str) -> bool:
        """True when AD accepts the password.

        AD tells locked (775) regardless of the password; disabled (533),
        expired (532) and must-change (773) only for the right password. Those
        raise ``DirectoryAccountError`` with their code.
        """
        if not password:
            return False
        connection, bound = self.bind_as(dn, password)
        try:
            if bound:
                return True
            code = _bind_code(connection.result)
            if code is DirectoryCode.WRONG_PASSWORD:
                return False
            raise error_for(connection.result, code)
        finally:
            release(connection)

    def set_password(
        self, dn: str, password: str, *, unlock: bool, must_change: bool = False
    ) -> None:
        """Reset as the service account, with the policy applied (one modify)."""
        changes = {
            "unicodePwd": [(MODIFY_REPLACE, [encode_password(password)])],
            "pwdLastSet": [(MODIFY_REPLACE, ["0" if must_change else "-1"])],
        }
        if unlock:
            changes["lockoutTime"] = [(MODIFY_REPLACE, ["0"])]
        with self.pool.connection() as connection:
            self._refuse_protected(connection, dn)
            controls = [HINTS_CONTROL] if self.policy_hints else None
            if not connection.modify(dn, changes, controls=controls):
                raise _refusal(connection.result)

    def change_password(self, dn: str, old: str, new: str) -> None:
        """The person's own change: delete the old value, add the new one.

        Bound as the person. When AD refuses that bind because the password
        must change or has expired (773/532, said only for the right password),
        the same delete/add goes over the service connection: the directory
        still checks the old password and applies the policy as a change.
        """
        change = {
            "unicodePwd": [
                (MODIFY_DELETE, [encode_password(old)]),
                (MODIFY_ADD, [encode_password(new)]),
            ]
        }
        connection, bound = self.bind_as(dn, old)
        try:
            if bound:
                with translated():
                    if not connection.modify(dn, change):
                        raise _refusal(connection.result)
                return
            code = _bind_code(connection.result)
            if code not in (DirectoryCode.MUST_CHANGE_PASSWORD, DirectoryCode.PASSWORD_EXPIRED):
                raise error_for(connection.result, code)
        finally:
            release(connection)
        with self.pool.connection() as service:
            if not service.modify(dn, change):
                raise _refusal(service.result)

    def unlock(self, dn: str) -> None:
        with self.pool.connection() as connection:
            self._refuse_protected(connection, dn)
            if not connection.modify(dn, {"lockoutTime": [(MODIFY_REPLACE, ["0"])]}):
                raise _refusal(connection.result)

    def password_marker(self, dn: str) -> str | None:
        """``pwdLastSet`` as stored (FILETIME): different after any password write.

        A write that sets "must change" stores 0; two such writes in a row look
        alike, so the reconciler can't tell the second one happened (it then
        reports the write as not applied; the administrator issues another).
        """
        with self.pool.connection() as connection:
            return first_text(self.read(connection, dn, ("pwdLastSet",)), "pwdLastSet")

    def account_state(self, dn: str, *, now: datetime | None = None) -> AccountState:
        now = now or datetime.now(UTC)
        with self.pool.connection() as connection:
            entry = self.read(connection, dn, STATE_ATTRIBUTES)
        computed = first_int(entry, "msDS-User-Account-Control-Computed") or 0
        control = first_int(entry, "userAccountControl") or 0
        last_set = first_int(entry, "pwdLastSet")
        expires = filetime(first_int(entry, "msDS-UserPasswordExpiryTimeComputed"))
        return AccountState(
            locked=bool(computed & UF_LOCKOUT),
            disabled=bool(control & UF_ACCOUNTDISABLE),
            must_change=last_set == 0,
            password_expired=bool(computed & UF_PASSWORD_EXPIRED or (expires and expires <= now)),
            password_changed_at=filetime(last_set),
            password_expires_at=expires,
            protected=first_int(entry, "adminCount") == 1,
        )

    def password_policy(self, dn: str) -> DirectoryPasswordPolicy:
        """The user's fine-grained policy (msDS-ResultantPSO) if any, else the domain's."""
        with self.pool.connection() as connection:
            entry = self.read(connection, dn, ("msDS-ResultantPSO",))
            pso = first_text(entry, "msDS-ResultantPSO")
            if pso:
                values = self.read(connection, pso, PSO_POLICY)
                return _policy(values, "msDS-", f"pso:{pso}")
            return _policy(self.read(connection, domain_of(dn), DOMAIN_POLICY), "", "domain")

    def check_health(self) -> Health:
        try:
            with self.pool.connection() as connection:
                self.read(connection, self.config.user_base, ("objectClass",))
        except DirectoryError as exc:
            return Health(HealthState.DOWN, str(exc.code))
        return Health(HealthState.HEALTHY)

    def _refuse_protected(self, connection: Connection, dn: str) -> None:
        if first_int(self.read(connection, dn, ("adminCount",)), "adminCount") == 1:
            raise ProtectedAccountError("adminCount=1")


def domain_of(dn: str) -> str:
    """The domain head of ``dn``: its trailing DC= components."""
    parts = [part.strip() for part in dn.split(",")]
    tail = [part for part in parts if part.upper().startswith("DC=")]
    return ",".join(tail)


def filetime(value: int | None) -> datetime | None:
    """A Windows FILETIME (100 ns since 1601) in UTC; 0 and "never" are None."""
    if not value or value <= 0 or value >= NEVER:
        return None
    return datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=value // 10)


def interval(value: int | None) -> timedelta | None:
    """An AD duration (negative 100 ns units); 0 and "never" are None."""
    if not value or value in (-NEVER - 1, NEVER):
        return None
    return timedelta(microseconds=abs(value) // 10)


# (length, history, minimum age, maximum age, lockout threshold) in a PSO and on the domain head
_PSO_NAMES = (
    "msDS-MinimumPasswordLength",
    "msDS-PasswordHistoryLength",
    "msDS-MinimumPasswordAge",
    "msDS-MaximumPasswordAge",
    "msDS-LockoutThreshold",
)
_DOMAIN_NAMES = ("minPwdLength", "pwdHistoryLength", "minPwdAge", "maxPwdAge", "lockoutThreshold")


def _policy(values: Attributes, prefix: str, source: str) -> DirectoryPasswordPolicy:
    if prefix:
        complexity = (first_text(values, "msDS-PasswordComplexityEnabled") or "").upper() == "TRUE"
        names = _PSO_NAMES
    else:
        complexity = bool((first_int(values, "pwdProperties") or 0) & 1)
        names = _DOMAIN_NAMES
    length, history, min_age, max_age, threshold = (first_int(values, name) for name in names)
    return DirectoryPasswordPolicy(
        min_length=length,
        history=history,
        complexity=complexity,
        min_age=interval(min_age),
        max_age=interval(max_age),
        lockout_threshold=threshold or None,
        source=source,
    )


def _bind_code(result: dict) -> DirectoryCode | None:
    """The code for a failed bind; a bare 49 without AD's sub-status is a wrong password."""
    code = ad_codes.code_for(str(result.get("message", "")))
    if code is None and result.get("result") == INVALID_CREDENTIALS:
        return DirectoryCode.WRONG_PASSWORD
    return code


def _refusal(result: dict) -> DirectoryError:
    return error_for(result, ad_codes.code_for(str(result.get("message", ""))))
