"""RFC 5424 syslog messages with a JSON payload, and the three ways to send them.

No Django here: the forwarder (``audit.forwarding``) decides what to send and when;
this module only writes the bytes and moves them. A message is

    <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID param="value" ...] JSON

with the header fields cut to the lengths and characters RFC 5424 §6 allows, SD
parameter values escaped per §6.3.3, and the JSON written as BOM-less UTF-8
(``MSG-ANY``). Over TCP and TLS each message is framed by octet counting
(RFC 6587 §3.4.1, RFC 5425 §4.3), so a payload may hold any byte. Over UDP one
datagram is one message (RFC 5426) and is never split: a message that would pass
``UDP_MAX_BYTES`` loses its ``details`` first, then the tail of its longest texts,
and says so with ``"truncated": true``.

TLS always checks the receiver's certificate and host name (the system's trust
store, or the CA file given); there is no plaintext fallback.
"""

import json
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Protocol
from urllib.parse import urlsplit

APP_NAME = "opensspr"
#: Our SD-ID. 32473 is the private enterprise number RFC 5612 reserves for
#: documentation; OpenSSPR has none registered, and the name@number form keeps the
#: ID out of the IANA-registered namespace, as RFC 5424 §7.2.2 asks.
SD_ID = "opensspr@32473"
#: RFC 5426 §3.2: receivers SHOULD take 2048 octets; larger datagrams risk being dropped.
UDP_MAX_BYTES = 2048
NIL = "-"
TRANSPORTS = ("udp", "tcp", "tls")


class Severity(IntEnum):
    WARNING = 4
    NOTICE = 5
    INFO = 6


@dataclass(frozen=True)
class Destination:
    transport: str  # one of TRANSPORTS
    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> "Destination":
        """Read ``udp://host:port`` (settings already checked it; this keeps it typed)."""
        parts = urlsplit(url)
        if parts.scheme not in TRANSPORTS or not parts.hostname or not parts.port:
            raise ValueError(f"not a syslog destination: {url!r}")
        return cls(parts.scheme, parts.hostname, parts.port)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.transport}://{host}:{self.port}"


@dataclass(frozen=True)
class Origin:
    """The header fields that say who sent the message (the same for every event)."""

    facility: int
    hostname: str
    procid: str


def header_field(value: str, limit: int) -> str:
    """Printable US-ASCII without spaces (RFC 5424 PRINTUSASCII), cut to ``limit``; else ``-``."""
    kept = "".join(ch for ch in value if 33 <= ord(ch) <= 126)[:limit]
    return kept or NIL


def _sd_name(value: str) -> str:
    return "".join(ch for ch in header_field(value, 32) if ch not in '= ]"')


def sd_value(value: str) -> str:
    """Escape a PARAM-VALUE (RFC 5424 §6.3.3): backslash, double quote and ``]``."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def structured_data(params: Mapping[str, str]) -> str:
    """One SD-ELEMENT with our SD-ID, parameters in the order given."""
    pairs = "".join(f' {_sd_name(name)}="{sd_value(value)}"' for name, value in params.items())
    return f"[{SD_ID}{pairs}]"


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds (RFC 5424 §6.2.3 allows up to six digits)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_message(
    *,
    origin: Origin,
    severity: Severity,
    moment: datetime,
    msgid: str,
    params: Mapping[str, str],
    payload: Mapping[str, object],
    max_bytes: int | None = None,
) -> bytes:
    """One RFC 5424 message; with ``max_bytes``, the payload shrinks until it fits."""
    header = " ".join(
        (
            f"<{origin.facility * 8 + severity}>1",
            timestamp(moment),
            header_field(origin.hostname, 255),
            APP_NAME,
            header_field(origin.procid, 128),
            header_field(msgid, 32),
            structured_data(params),
        )
    ).encode("ascii")
    body = _json(payload)
    if max_bytes is not None and len(header) + 1 + len(body) > max_bytes:
        body = _shrunk(payload, max_bytes - len(header) - 1)
    return header + b" " + body


def _json(payload: Mapping[str, object]) -> bytes:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _shrunk(payload: Mapping[str, object], room: int) -> bytes:
    """The payload within ``room`` bytes: details dropped, then the longest texts cut."""
    smaller: dict[str, object] = {**payload, "details": {}, "truncated": True}
    body = _json(smaller)
    while len(body) > room:
        texts = [(len(v), k) for k, v in smaller.items() if isinstance(v, str) and v]
        if not texts:
            break  # only fixed fields left: send what there is rather than nothing
        _length, longest = max(texts)
        text = str(smaller[longest])
        excess = len(body) - room
        smaller[longest] = text[: max(0, len(text) - max(excess, 1))]
        body = _json(smaller)
    return body


def octet_counted(message: bytes) -> bytes:
    """RFC 6587 §3.4.1 / RFC 5425 §4.3 framing: ``MSG-LEN SP SYSLOG-MSG``."""
    return str(len(message)).encode("ascii") + b" " + message


class SendError(Exception):
    """Sending stopped; ``sent`` messages (from the start of the batch) reached the receiver."""

    def __init__(self, sent: int, cause: BaseException) -> None:
        super().__init__(describe(cause))
        self.sent = sent


def describe(exc: BaseException) -> str:
    """A short reason that names the failure, never what was being sent."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate not trusted: {exc.verify_message}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return type(exc).__name__


class Transport(Protocol):
    def send(self, messages: Sequence[bytes]) -> None:
        """Send in order; raise ``SendError`` saying how many got through."""

    def close(self) -> None: ...


class UdpTransport:
    """One datagram per message on a connected socket (so a refusal seen by ICMP is raised)."""

    def __init__(self, destination: Destination, timeout: float) -> None:
        family, kind, proto, _name, address = socket.getaddrinfo(
            destination.host, destination.port, type=socket.SOCK_DGRAM
        )[0]
        self._socket = socket.socket(family, kind, proto)
        self._socket.settimeout(timeout)
        self._socket.connect(address)

    def send(self, messages: Sequence[bytes]) -> None:
        for index, message in enumerate(messages):
            try:
                self._socket.send(message)
            except OSError as exc:
                raise SendError(index, exc) from exc

    def close(self) -> None:
        self._socket.close()


class StreamTransport:
    """TCP, or TLS over it: a batch is written as one run of octet-counted frames."""

    def __init__(self, destination: Destination, timeout: float, ca_file: str = "") -> None:
        address = (destination.host, destination.port)
        raw = socket.create_connection(address, timeout=timeout)
        if destination.transport != "tls":
            self._socket: socket.socket = raw
            return
        context = ssl.create_default_context(cafile=ca_file or None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            self._socket = context.wrap_socket(raw, server_hostname=destination.host)
        except BaseException:
            raw.close()
            raise

    def send(self, messages: Sequence[bytes]) -> None:
        try:
            self._socket.sendall(b"".join(octet_counted(message) for message in messages))
        except OSError as exc:
            raise SendError(0, exc) from exc

    def close(self) -> None:
        """Over TLS, send the closure alert first (RFC 5425 §4.4), so the end is unambiguous."""
        try:
            if isinstance(self._socket, ssl.SSLSocket):
                self._socket = self._socket.unwrap()
        except OSError:  # the receiver went first: nothing left to close cleanly
            pass
        finally:
            self._socket.close()


def connect(destination: Destination, *, timeout: float, ca_file: str = "") -> Transport:
    """Open a transport to ``destination``; ``OSError`` (``ssl.SSLError`` included) if it can't."""
    if destination.transport == "udp":
        return UdpTransport(destination, timeout)
    return StreamTransport(destination, timeout, ca_file)
