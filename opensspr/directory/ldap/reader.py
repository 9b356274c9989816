"""Paged reads of whole subtrees for sync, and the directory's change marks.

No Django here: the agent runs these reads for a server that can't reach
the directory (``DirectReader``; the server in direct mode uses its subclass
``readahead.ReadAheadReader``, which runs the same reads in a child process).
A read is a Simple Paged Results
search (RFC 2696) over the service account's pooled connection, yielding raw
attribute values. ldap3 decodes every entry twice, into ``raw_attributes`` and a
text copy in ``attributes``; sync reads only the raw values, and the text copy
cost about a sixth of a full sync's time (profiled at 20,000 people). So for
the length of a paged read the connection decodes entries its own way: raw
values only, beside an ``attributes`` holding the same names with empty lists
(what ldap3's auto-range code adds to). Every other answer, and every other use
of the connection, is ldap3's own.

Change marks, read *before* the entries so that anything written during a run
is read again by the next one (a mark never skips a change):

* OpenLDAP: the ``contextCSN`` of the naming context (kept by the syncprov
  overlay, which every replicated slapd has); the next run asks for
  ``entryCSN>=mark``. Without syncprov there is no contextCSN, and the mark
  falls back to the newest ``modifyTimestamp`` seen (whole seconds; the next
  run asks for ``modifyTimestamp>=mark``, so it re-reads that second).
* Active Directory: the DC's ``highestCommittedUSN``; the next run asks for
  ``uSNChanged>=mark+1``. USNs are per domain controller, so the mark names the
  server it came from and another server means a full run.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ldap3 import BASE, SUBTREE, Connection
from ldap3.utils.conv import to_unicode

from opensspr.directory.ldap.common import SUCCESS, Attributes, error_for, first_text
from opensspr.directory.ldap.connection import ServicePool
from opensspr.directory.ldap.records import DEFAULT_PAGE_SIZE, ChangeMark, Entry, Page

PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"


def paged_search(
    connection: Connection,
    base: str,
    search_filter: str,
    attributes: Iterable[str],
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    time_limit: int = 30,
) -> Iterator[Entry]:
    """Every entry under ``base`` matching ``search_filter``, one page at a time."""
    for page in raw_pages(
        connection,
        base,
        search_filter,
        list(attributes),
        page_size=page_size,
        time_limit=time_limit,
    ):
        yield from entries(page)


def entries(page: Page) -> Iterator[Entry]:
    for dn, raw in page:
        yield Entry(dn, {k.lower(): v for k, v in raw.items()})  # lists of ours


def raw_pages(
    connection: Connection,
    base: str,
    search_filter: str,
    wanted: list[str],
    *,
    page_size: int,
    time_limit: int,
) -> Iterator[Page]:
    """Each page of the search as it comes: what ``readahead``'s child sends on."""
    with _raw_entries(connection):
        cookie: bytes | None = None
        while True:
            connection.search(
                base,
                search_filter,
                SUBTREE,
                attributes=wanted,
                paged_size=page_size,
                paged_cookie=cookie,
                time_limit=time_limit,
            )
            if connection.result["result"] != SUCCESS:
                raise error_for(connection.result)
            yield [
                (item["dn"], item.get("raw_attributes", {}))
                for item in connection.response or []
                if item.get("type") == "searchResEntry"
            ]
            control = connection.result.get("controls", {}).get(PAGED_RESULTS_OID, {})
            cookie = control.get("value", {}).get("cookie")
            if not cookie:
                return


SEARCH_RESULT_ENTRY = 4  # the protocolOp of a searchResEntry in ldap3's fast decoder


@contextmanager
def _raw_entries(connection: Connection) -> Iterator[None]:
    """Inside, ``connection`` decodes search entries to raw values only (module docstring)."""
    strategy = connection.strategy
    stock = strategy.decode_response_fast
    own = "decode_response_fast" in vars(strategy)  # already set on the object, not its class

    def decode(message: dict[str, Any]) -> dict[str, Any]:
        if message["protocolOp"] != SEARCH_RESULT_ENTRY:
            return stock(message)
        return _raw_entry(strategy, message)

    strategy.decode_response_fast = decode
    try:
        yield
    finally:
        if own:
            strategy.decode_response_fast = stock
        else:
            del strategy.decode_response_fast  # the class's own again


def _raw_entry(strategy: Any, message: dict[str, Any]) -> dict[str, Any]:
    """A searchResEntry as ldap3's fast decoder builds it, without the text copy."""
    payload = message["payload"]
    raw_dn = payload[0][3]
    raw: dict[str, list[bytes]] = {}
    for attribute in payload[1][3]:
        # Attribute names are ASCII (RFC 4512): decoded directly, without ldap3's look-ups
        # of its encoding settings (three per call), which cost more than the decoding.
        name = bytes(attribute[3][0][3]).decode("utf-8", "replace")
        raw[name] = [bytes(value[3]) for value in attribute[3][1][3]]
    entry: dict[str, Any] = {
        "type": "searchResEntry",
        "raw_dn": raw_dn,
        "dn": to_unicode(raw_dn, from_server=True),
        "raw_attributes": raw,
        "attributes": {name: [] for name in raw},
    }
    if message["controls"]:
        entry["controls"] = dict(
            strategy.decode_control_fast(control[3]) for control in message["controls"]
        )
    return entry


def _base_read(connection: Connection, dn: str, attributes: list[str]) -> Attributes:
    connection.search(dn, "(objectClass=*)", BASE, attributes=attributes, size_limit=1)
    for item in connection.response or []:
        if item.get("type") == "searchResEntry":
            return {k.lower(): list(v) for k, v in item.get("raw_attributes", {}).items()}
    return {}


def naming_context(connection: Connection, base: str) -> str | None:
    """The suffix (naming context) that holds ``base``, from the root DSE."""
    root = _base_read(connection, "", ["namingContexts"])
    contexts = [v.decode("utf-8", "replace") for v in root.get("namingcontexts", [])]
    lowered = base.lower()
    matches = [c for c in contexts if c and lowered.endswith(c.lower())]
    return max(matches, key=len) if matches else None


def openldap_mark(pool: ServicePool, base: str) -> ChangeMark | None:
    """The naming context's newest contextCSN, or None without syncprov."""
    with pool.connection() as connection:
        suffix = naming_context(connection, base)
        if suffix is None:
            return None
        values = _base_read(connection, suffix, ["contextCSN"]).get("contextcsn", [])
    csns = sorted(v.decode("ascii", "replace") for v in values)
    return ChangeMark("csn", csns[-1]) if csns else None


def ad_mark(pool: ServicePool) -> ChangeMark | None:
    """The DC's highestCommittedUSN and its dsServiceName (which DC it is)."""
    with pool.connection() as connection:
        root = _base_read(connection, "", ["highestCommittedUSN", "dsServiceName"])
    usn = first_text(root, "highestCommittedUSN")
    if not usn or not usn.isdigit():
        return None
    return ChangeMark("usn", usn, server=first_text(root, "dsServiceName") or "")


class DirectReader:
    """Sync's reads over one server's pooled service connection (direct mode, and the agent)."""

    def __init__(self, pool: ServicePool, *, active_directory: bool) -> None:
        self.pool = pool
        self.active_directory = active_directory

    def mark(self, base: str) -> ChangeMark | None:
        return ad_mark(self.pool) if self.active_directory else openldap_mark(self.pool, base)

    def search(
        self,
        base: str,
        search_filter: str,
        attributes: Iterable[str],
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        time_limit: int = 30,
    ) -> Iterator[Entry]:
        """Every matching entry, paged over one connection held until the last page."""
        with self.pool.connection() as connection:
            yield from paged_search(
                connection,
                base,
                search_filter,
                attributes,
                page_size=page_size,
                time_limit=time_limit,
            )

    def close(self) -> None:
        self.pool.close_all()
