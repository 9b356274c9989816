"""Sync's paged read in a second process, so reading and storing run on two cores.

A full sync is two jobs of about the same size: ldap3 decoding the BER of every
entry (pure Python), and mapping, validating and writing the people. In one
process they take turns, because of the GIL; a read-ahead thread made things
slower. So the read runs in a child interpreter (``python -m`` this module)
that pages through the directory over its own connection and hands each page
back on its standard output (``marshal``: plain lists, dicts, text and bytes,
which it writes and reads in C), while this process stores the page
before. The pipe's buffer (``PIPE_BYTES``) keeps the child a few pages ahead at
most, so memory stays that of a few pages, however big the directory.

The request (with the service account's password) goes to the child on its
standard input, never on its command line. The child answers with pages, then
``done``, or with one ``error`` in the agent's vocabulary (``jobs.error_to_wire``:
the family and the stable code, never ldap3's message, which can quote a request);
the parent raises it as if the read had run here. A child that can't be started
means reading in this process (some embedded interpreters have no usable
``sys.executable``); a child that dies mid-read is the directory read failing, and
sync's own rules apply (the run stops and the change mark isn't moved).

No Django here either: the child imports ``opensspr.directory.ldap`` and the job
protocol's error vocabulary (``directory.jobs``), both free of it.
"""

import fcntl
import logging
import marshal
import select
import signal
import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import suppress
from typing import IO, Any

from opensspr.directory.errors import DirectoryCode, DirectoryError, DirectoryUnavailableError
from opensspr.directory.jobs import error_from_wire, error_to_wire
from opensspr.directory.ldap.config import LdapConfig, TlsMode
from opensspr.directory.ldap.connection import ServicePool
from opensspr.directory.ldap.reader import DirectReader, entries, raw_pages
from opensspr.directory.ldap.records import DEFAULT_PAGE_SIZE, Entry, Page

logger = logging.getLogger(__name__)

Request = tuple[dict[str, Any], str, str, list[str], int, int]  # the config's fields, the search
#: The pipe the pages come through: Linux's 64 KiB holds half a page of 500 people
#: (about 140 KB), so the child stalled whenever this process waited on its database
#: (a batch's writes). 1 MiB (Linux's most for an unprivileged process) is about seven.
PIPE_BYTES = 1 << 20
#: How long a new child may take to import what it needs and say so (about 0.12 s here).
READY_SECONDS = 15.0


class ReadAheadReader(DirectReader):
    """``DirectReader`` whose paged reads run in a child process (module docstring).

    One child serves every read of a run, one after the other, so a run starts
    one interpreter, not one per search base. It reads from the very server this
    process read the change mark from (its address, pinned; the certificate is
    still checked against the configured name): a name that resolves to several
    domain controllers must not give the mark of one and the entries of another.
    A read that doesn't finish (an error, or sync stopping early) ends the child,
    which may be mid-page; the next read starts a fresh one. A read begun while
    another is still being taken runs in this process.
    """

    def __init__(self, pool: ServicePool, *, active_directory: bool) -> None:
        super().__init__(pool, active_directory=active_directory)
        self._child: subprocess.Popen[bytes] | None = None
        self._reading = False

    def search(
        self,
        base: str,
        search_filter: str,
        attributes: Iterable[str],
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        time_limit: int = 30,
    ) -> Iterator[Entry]:
        wanted = list(attributes)
        child = None if self._reading else (self._child or self._start())
        if child is None:
            yield from super().search(
                base, search_filter, wanted, page_size=page_size, time_limit=time_limit
            )
            return
        finished, self._reading = False, True
        try:
            _send(child, (self._pinned(), base, search_filter, wanted, page_size, time_limit))
            for page in _pages(child):
                yield from entries(page)
            finished = True
        finally:
            self._reading = False
            if not finished and self._child is child:
                self._stop(mid_read=True)

    def _pinned(self) -> dict[str, Any]:
        """The config's fields, its host replaced by the address the pool is connected to."""
        config = {k: str(v) if k == "tls" else v for k, v in vars(self.pool.config).items()}
        with self.pool.connection() as connection:  # the one the mark was just read over
            peer = connection.socket.getpeername()[0] if connection.socket else None
        if peer:
            config["server_name"] = config["server_name"] or config["host"]
            config["host"] = peer
        return config

    def _start(self) -> subprocess.Popen[bytes] | None:
        """A child that said it is ready, or None (then this process reads, only slower)."""
        try:
            # -P: nothing from the working folder shadows a module the child imports.
            child = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
                [sys.executable, "-P", "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        except (OSError, ValueError, TypeError) as exc:  # no usable interpreter here
            logger.warning("sync reads in this process, without read-ahead: %s", type(exc).__name__)
            return None
        self._child = child
        _widen(child)
        if _ready(child):
            return child
        logger.warning("sync reads in this process: the read-ahead process did not start")
        self._stop(mid_read=True)
        return None

    def _stop(self, *, mid_read: bool = False) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        if mid_read:
            child.kill()  # nobody will take the rest of its pages
        assert child.stdin is not None
        with suppress(OSError):
            child.stdin.close()  # a waiting child's signal to leave
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        assert child.stdout is not None
        child.stdout.close()

    def close(self) -> None:
        self._stop(mid_read=self._reading)  # a read cut short by an error may still be open
        super().close()


def _widen(child: subprocess.Popen[bytes]) -> None:
    """Let the child write ``PIPE_BYTES`` ahead; where the system says no, it writes less ahead."""
    assert child.stdout is not None
    with suppress(OSError, AttributeError):  # AttributeError: no F_SETPIPE_SZ off Linux
        fcntl.fcntl(child.stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def _ready(child: subprocess.Popen[bytes]) -> bool:
    """Whether the child's first answer, within ``READY_SECONDS``, is ``ready``."""
    assert child.stdout is not None
    try:
        waiting, _, _ = select.select([child.stdout], [], [], READY_SECONDS)
    except (OSError, ValueError):
        return False
    return bool(waiting) and _answer(child.stdout)[0] == "ready"


def _send(child: subprocess.Popen[bytes], request: Request) -> None:
    assert child.stdin is not None
    try:
        marshal.dump(request, child.stdin)
        child.stdin.flush()
    except OSError:
        raise DirectoryUnavailableError("reader stopped") from None


def _pages(child: subprocess.Popen[bytes]) -> Iterator[Page]:
    """The child's pages for one request, in order, until ``done``; raises its error."""
    assert child.stdout is not None
    while True:
        kind, payload = _answer(child.stdout)
        if kind == "page":
            yield payload
        elif kind == "done":
            return
        else:
            raise error_from_wire(payload, source="the read-ahead process")


def _answer(stream: IO[bytes]) -> tuple[str, Any]:
    try:
        answer = marshal.load(stream)  # noqa: S302 (our child's plain values, over our own pipe)
    except (EOFError, ValueError, TypeError, OSError):
        return "error", {"family": "unavailable", "code": str(DirectoryCode.UNAVAILABLE)}
    return answer


def _serve(requests: IO[bytes], out: IO[bytes]) -> None:
    """The child's whole life: say it is ready, then answer each request until stdin closes."""
    marshal.dump(("ready", None), out)
    out.flush()
    pool: ServicePool | None = None
    try:
        while True:
            try:
                request = marshal.load(requests)  # noqa: S302 (from our parent, over its pipe)
            except EOFError:
                return
            fields = request[0]
            if pool is None:
                pool = ServicePool(LdapConfig(**{**fields, "tls": TlsMode(fields["tls"])}))
            marshal.dump(_read(pool, request, out), out)
            out.flush()
    finally:
        if pool is not None:
            pool.close_all()


def _read(pool: ServicePool, request: Request, out: IO[bytes]) -> tuple[str, Any]:
    """Write every page of one request to ``out``; what to answer after them.

    An error goes as the agent's jobs send theirs (``jobs.error_to_wire``): plain
    ``str`` and ``bool`` values, which ``marshal`` needs (it refuses our ``StrEnum``
    codes).
    """
    _fields, base, search_filter, attributes, page_size, time_limit = request
    try:
        with pool.connection() as connection:
            for page in raw_pages(
                connection,
                base,
                search_filter,
                attributes,
                page_size=page_size,
                time_limit=time_limit,
            ):
                marshal.dump(("page", page), out)
                out.flush()
    except DirectoryError as exc:
        return "error", error_to_wire(exc)  # the agent's vocabulary: family and code only
    except Exception:  # a bug here: no message crosses (it could quote a request)
        return "error", {"family": "error", "code": str(DirectoryCode.UNEXPECTED)}
    return "done", None


def main() -> None:
    """``python -P -m opensspr.directory.ldap.readahead``: the child."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the parent's to handle
    # Buffered both ways, whatever PYTHONUNBUFFERED says: a raw pipe may write or read
    # short, and marshal takes a short write as a whole one.
    try:
        with open(0, "rb", closefd=False) as requests, open(1, "wb", closefd=False) as out:
            _serve(requests, out)
    except BrokenPipeError:
        sys.exit(1)  # the parent stopped reading: nothing more to do


if __name__ == "__main__":
    main()
