"""Sync's read in a second process (``ldap/readahead.py``), against the real slapd: the
same entries as reading here, one child for a run's reads, errors raised here as if the
read had run here, and no child left behind however a read ends."""

import io
import marshal
from collections.abc import Iterator
from pathlib import Path

import pytest

from opensspr.directory.errors import DirectoryCode, DirectoryError, DirectoryUnavailableError
from opensspr.directory.jobs import error_from_wire
from opensspr.directory.ldap import readahead
from opensspr.directory.ldap.connection import ServicePool
from opensspr.directory.ldap.readahead import ReadAheadReader
from opensspr.directory.ldap.reader import DirectReader
from tests.directory import slapd
from tests.directory.proxy import TcpProxy

WANTED = ["uid", "cn", "sn", "objectClass", "entryUUID"]


def _children() -> set[int]:
    """This process's living children, from Linux's /proc (any thread may have started one)."""
    return {
        int(pid)
        for task in Path("/proc/self/task").iterdir()
        for pid in (task / "children").read_text().split()
    }


@pytest.fixture
def readers(slapd_server: slapd.Slapd) -> Iterator[tuple[ReadAheadReader, DirectReader]]:
    ahead = ReadAheadReader(
        ServicePool(slapd.openldap_config(slapd_server)), active_directory=False
    )
    here = DirectReader(ServicePool(slapd.openldap_config(slapd_server)), active_directory=False)
    try:
        yield ahead, here
    finally:
        ahead.close()
        here.close()


def test_the_child_reads_what_this_process_reads_and_serves_a_whole_run(readers, ldap_user):
    ahead, here = readers
    for _ in range(3):
        ldap_user()
    before = _children()
    for _ in range(2):  # two reads of one run (people, then groups): one child
        read = {
            e.dn: e.attributes for e in ahead.search(slapd.PEOPLE, "(uid=*)", WANTED, page_size=2)
        }
        assert read == {e.dn: e.attributes for e in here.search(slapd.PEOPLE, "(uid=*)", WANTED)}
        assert len(read) >= 3
        assert all(
            isinstance(v, bytes) for values in read[next(iter(read))].values() for v in values
        )
        assert len(_children() - before) == 1
    ahead.close()
    assert _children() - before == set()  # ended, not orphaned


def test_the_directorys_error_is_raised_here_and_the_next_read_starts_afresh(readers, ldap_user):
    ahead, here = readers
    ldap_user()
    missing = f"ou=nowhere,{slapd.SUFFIX}"
    with pytest.raises(DirectoryError) as in_child:
        list(ahead.search(missing, "(uid=*)", WANTED))
    with pytest.raises(DirectoryError) as in_process:
        list(here.search(missing, "(uid=*)", WANTED))
    assert type(in_child.value) is type(in_process.value)
    assert in_child.value.code == in_process.value.code
    assert list(ahead.search(slapd.PEOPLE, "(uid=*)", WANTED))


def test_a_read_stopped_early_ends_its_child(readers, ldap_user):
    ahead, _here = readers
    for _ in range(4):
        ldap_user()
    before = _children()
    pages = ahead.search(slapd.PEOPLE, "(uid=*)", WANTED, page_size=1)
    next(pages)
    assert len(_children() - before) == 1
    pages.close()  # sync gave up after the first entry
    assert _children() - before == set()
    assert len(list(ahead.search(slapd.PEOPLE, "(uid=*)", WANTED))) >= 4


def test_the_directory_going_down_mid_read_is_unavailable_here(slapd_server, ldap_user):
    for _ in range(6):
        ldap_user()
    proxy = TcpProxy("127.0.0.1", slapd_server.ldap_port)
    config = slapd.openldap_config(slapd_server, port=proxy.port)
    reader = ReadAheadReader(ServicePool(config), active_directory=False)
    before = _children()
    try:
        pages = reader.search(slapd.PEOPLE, "(uid=*)", WANTED, page_size=1)
        next(pages)
        proxy.set_mode("refuse")
        with pytest.raises(DirectoryUnavailableError):
            list(pages)
        assert _children() - before == set()
    finally:
        reader.close()
        proxy.close()


def test_without_a_usable_interpreter_the_read_runs_here(readers, ldap_user, monkeypatch):
    ahead, here = readers
    ldap_user()
    monkeypatch.setattr("sys.executable", "/nonexistent/python")
    before = _children()
    read = [e.dn for e in ahead.search(slapd.PEOPLE, "(uid=*)", WANTED)]
    assert read == [e.dn for e in here.search(slapd.PEOPLE, "(uid=*)", WANTED)]
    assert _children() == before


def test_a_child_that_starts_but_cannot_serve_leaves_the_read_to_this_process(
    readers, ldap_user, monkeypatch
):
    ahead, here = readers
    ldap_user()
    monkeypatch.setattr("sys.executable", "/bin/false")  # starts, never says it is ready
    before = _children()
    read = [e.dn for e in ahead.search(slapd.PEOPLE, "(uid=*)", WANTED)]
    assert read == [e.dn for e in here.search(slapd.PEOPLE, "(uid=*)", WANTED)]
    assert _children() == before


def test_an_unexpected_failure_in_the_child_comes_back_as_a_directory_error(
    slapd_server, monkeypatch
):
    """What the child answers is plain text (marshal refuses our StrEnum codes)."""

    def broken(*_args, **_kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(readahead, "raw_pages", broken)
    config = slapd.openldap_config(slapd_server)
    fields = {k: str(v) if k == "tls" else v for k, v in vars(config).items()}
    requests = io.BytesIO(marshal.dumps((fields, slapd.PEOPLE, "(uid=*)", WANTED, 10, 10)))
    out = io.BytesIO()
    readahead._serve(requests, out)
    out.seek(0)
    assert readahead._answer(out) == ("ready", None)
    kind, payload = readahead._answer(out)
    assert (kind, payload) == ("error", {"family": "error", "code": "directory_error"})
    error = error_from_wire(payload, source="the read-ahead process")
    assert type(error) is DirectoryError and error.code == DirectoryCode.UNEXPECTED


def test_the_child_reads_from_the_server_the_mark_was_read_from(slapd_server, ldap_user):
    """A name may resolve to several servers: the child gets the address, and the certificate
    is still checked against the configured name."""
    ldap_user()
    config = slapd.openldap_config(slapd_server, host="localhost")
    reader = ReadAheadReader(ServicePool(config), active_directory=False)
    try:
        reader.mark(slapd.SUFFIX)
        pinned = reader._pinned()
        assert pinned["host"] in ("127.0.0.1", "::1")
        assert pinned["server_name"] == slapd.SERVER_NAME
        assert list(reader.search(slapd.PEOPLE, "(uid=*)", WANTED))
    finally:
        reader.close()


def test_closing_during_a_read_ends_the_child(readers, ldap_user):
    ahead, _here = readers
    for _ in range(3):
        ldap_user()
    before = _children()
    pages = ahead.search(slapd.PEOPLE, "(uid=*)", WANTED, page_size=1)
    next(pages)  # sync failed here, its generator still held by the traceback
    ahead.close()
    assert _children() - before == set()
    pages.close()


def test_the_pipe_holds_several_pages_so_the_child_reads_on_while_this_process_writes(
    readers, ldap_user
):
    """Linux's 64 KiB pipe held half a page: the child stalled during every batch's writes."""
    fcntl = pytest.importorskip("fcntl")
    ahead, _here = readers
    ldap_user()
    pages = ahead.search(slapd.PEOPLE, "(uid=*)", WANTED)
    next(pages)  # the child is started by the first read
    child = ahead._child
    assert child is not None
    assert child.stdout is not None
    assert fcntl.fcntl(child.stdout.fileno(), fcntl.F_GETPIPE_SZ) >= readahead.PIPE_BYTES
    pages.close()
