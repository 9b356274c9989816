"""What the agent does for the server, and what it refuses whoever asks.

The server is the exposed side (a DMZ, a cloud): if it were taken over, its
jobs must not become directory-wide powers. So the agent checks each job
against its own configuration before running it: every entry and search base
must lie under the configured ``base_dn``, and a sync read may not ask for
attributes that hold secrets.
"""

from collections.abc import Mapping
from typing import Any

from opensspr.directory.jobs import JobKind

#: Attributes that hold passwords or their hashes: never read for anyone (lower-cased).
SECRET_ATTRIBUTES = frozenset(
    {
        "userpassword",
        "unicodepwd",
        "dbcspwd",
        "ntpwdhistory",
        "lmpwdhistory",
        "supplementalcredentials",
        "pwdhistory",
        "ms-mcs-admpwd",
        "mslaps-password",
        "mslaps-encryptedpassword",
        "mslaps-encryptedpasswordhistory",
        "msds-managedpassword",
        "authpassword",
        "sambantpassword",
        "sambalmpassword",
    }
)
_BY_DN = frozenset(set(JobKind) - {JobKind.PROBE, JobKind.SYNC_MARK, JobKind.SYNC_READ})


def _normal(dn: str) -> str:
    """Compare DNs case-insensitively and without the spaces around separators."""
    parts = [part.strip() for part in dn.split(",")]
    return ",".join("=".join(side.strip() for side in part.split("=", 1)) for part in parts).lower()


def under(dn: str, base: str) -> bool:
    entry, root = _normal(dn), _normal(base)
    return bool(root) and (entry == root or entry.endswith("," + root))


def refusal(kind: JobKind, payload: Mapping[str, Any], base_dn: str) -> str:
    """Why this job is refused, or "" when it may run."""
    if kind in _BY_DN and not under(str(payload.get("dn", "")), base_dn):
        return "the entry is outside the configured base_dn"
    if kind in (JobKind.SYNC_MARK, JobKind.SYNC_READ) and not under(
        str(payload.get("base", "")), base_dn
    ):
        return "the search base is outside the configured base_dn"
    if kind is JobKind.SYNC_READ:
        asked = {str(name).lower() for name in payload.get("attributes") or ()}
        if asked & SECRET_ATTRIBUTES or "*" in asked:
            return "a secret attribute was asked for"
    return ""
