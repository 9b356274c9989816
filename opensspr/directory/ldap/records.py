"""What sync's reads hand over: entries, pages and change marks.

Plain values, no ldap3: the agent's job protocol (``directory/jobs.py``) and sync
use them in processes that never open an LDAP connection themselves (an app
server whose directory is reached through an agent, or none at all).
"""

from dataclasses import dataclass

from opensspr.directory.values import Attributes

DEFAULT_PAGE_SIZE = 500
Page = list[tuple[str, dict[str, list[bytes]]]]  # (DN, raw values by the server's names)


@dataclass(frozen=True)
class Entry:
    dn: str
    attributes: Attributes  # lower-cased names -> raw values


@dataclass(frozen=True)
class ChangeMark:
    """Where the last run stopped: ``kind`` is ``csn``, ``timestamp`` or ``usn``."""

    kind: str
    value: str
    server: str = ""

    def encode(self) -> str:
        return f"{self.kind}|{self.server}|{self.value}"

    @classmethod
    def decode(cls, text: str) -> "ChangeMark | None":
        parts = text.split("|", 2)
        if len(parts) != 3 or not parts[2]:
            return None
        return cls(kind=parts[0], server=parts[1], value=parts[2])


def changed_filter(mark: ChangeMark) -> str:
    """The filter clause that selects entries changed since ``mark`` (values are ours)."""
    if mark.kind == "usn":
        return f"(uSNChanged>={int(mark.value) + 1})"
    if mark.kind == "csn":
        return f"(entryCSN>={_safe(mark.value)})"
    return f"(modifyTimestamp>={_safe(mark.value)})"


def _safe(value: str) -> str:
    """CSNs and timestamps are digits, letters, '.', '#', '+' and 'Z': refuse anything else."""
    if not all(c.isalnum() or c in ".#+-" for c in value):
        raise ValueError("malformed change mark")
    return value
