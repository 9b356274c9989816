"""What the writeback doctor reports: one finding per check, with its cause and its fix.

A finding's ``code`` is stable (scripts, the console and the docs' table key on
it); ``cause`` and ``fix`` are plain English for the operator who set the
directory up. No Django here, so the on-premises agent can run the same checks.
"""

from dataclasses import asdict, dataclass
from enum import StrEnum

from ldap3 import BASE, SUBTREE, Connection

from opensspr.directory.ldap.common import Attributes


class Severity(StrEnum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


#: Errors first: the order the command and the console list findings in.
SEVERITY_ORDER = (Severity.ERROR, Severity.WARNING, Severity.OK)


@dataclass(frozen=True)
class Finding:
    """One check's result: ``subject`` names what was checked (a server, a DN, an account)."""

    code: str
    severity: Severity
    subject: str
    cause: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return {key: str(value) for key, value in asdict(self).items()}


def ok(code: str, subject: str, cause: str) -> Finding:
    return Finding(code, Severity.OK, subject, cause)


def warning(code: str, subject: str, cause: str, fix: str) -> Finding:
    return Finding(code, Severity.WARNING, subject, cause, fix)


def error(code: str, subject: str, cause: str, fix: str) -> Finding:
    return Finding(code, Severity.ERROR, subject, cause, fix)


def search(
    connection: Connection,
    base: str,
    query: str = "(objectClass=*)",
    attributes: list[str] | None = None,
    *,
    subtree: bool = False,
    limit: int = 1,
    controls: list | None = None,
) -> tuple[int, list[tuple[str, Attributes]]]:
    """The LDAP result code and the entries (raw values, lower-case names) of one search.

    Every search carries a size and a time limit, like the connectors' own.
    """
    connection.search(
        base,
        query,
        SUBTREE if subtree else BASE,
        attributes=attributes or ["1.1"],
        size_limit=limit,
        time_limit=10,
        controls=controls,
    )
    entries = []
    for item in connection.response or []:
        if item.get("type") == "searchResEntry":
            raw = {k.lower(): list(v) for k, v in item.get("raw_attributes", {}).items()}
            entries.append((item["dn"], raw))
    return int(connection.result.get("result") or 0), entries
