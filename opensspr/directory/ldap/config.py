"""How to reach one directory: server, TLS, service account, search scope, limits.

There is deliberately no "plain" transport: a connector speaks LDAPS or
StartTLS with certificate validation, or not at all (security-bar property 13,
F6). The user-ID attribute comes from an allow-list, so configuration can't
turn a lookup into an arbitrary filter (A13).
"""

from dataclasses import dataclass, field
from enum import StrEnum


class TlsMode(StrEnum):
    LDAPS = "ldaps"  # TLS from the first byte (port 636)
    STARTTLS = "starttls"  # plain connect, StartTLS before any bind (port 389)


USER_ID_ATTRIBUTES = frozenset({"uid", "mail", "cn", "sAMAccountName", "userPrincipalName"})


@dataclass(frozen=True)
class LdapConfig:
    """One directory's connection settings (immutable; build a new connector to change)."""

    host: str
    port: int
    tls: TlsMode
    bind_dn: str
    bind_password: str = field(repr=False)
    user_base: str
    user_id_attribute: str = "uid"
    user_object_filter: str = "(objectClass=inetOrgPerson)"
    ca_file: str | None = None  # None: the system's trusted CAs
    ca_data: str | None = None  # PEM text of the CA(s), as stored in the console
    server_name: str | None = None  # the name the certificate must carry, if not ``host``
    connect_timeout: float = 5.0
    operation_timeout: int = 10  # whole seconds (ldap3 packs it into SO_RCVTIMEO)
    search_time_limit: int = 10  # seconds, sent to the server with every search
    pool_size: int = 4
    pool_idle_seconds: float = 60.0  # close pooled connections idle longer than this
    pool_check_seconds: float = 5.0  # ...and ask one idle longer than this if it's alive
    default_policy_dn: str | None = None  # OpenLDAP: olcPPolicyDefault (cn=config isn't readable)

    def __post_init__(self) -> None:
        if self.user_id_attribute not in USER_ID_ATTRIBUTES:
            raise ValueError(f"user_id_attribute must be one of {sorted(USER_ID_ATTRIBUTES)}")
        if not (self.user_object_filter.startswith("(") and self.user_object_filter.endswith(")")):
            raise ValueError("user_object_filter must be a parenthesised LDAP filter")
        if self.connect_timeout <= 0 or self.operation_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.pool_size < 1:
            raise ValueError("pool_size must be at least 1")
