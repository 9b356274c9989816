"""Real syslog receivers on loopback for the forwarding tests, and an RFC 5424 reader.

``UdpReceiver`` keeps each datagram; ``StreamReceiver`` accepts TCP (or TLS, given a
server context) connections, keeps each connection's bytes, and splits them by
octet counting. Nothing here trusts the sender: a frame that doesn't parse fails
the test.
"""

import json
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import Any

WAIT = 10.0  # seconds a test waits for frames to arrive at most


@dataclass(frozen=True)
class Parsed:
    pri: int
    version: str
    timestamp: str
    hostname: str
    app_name: str
    procid: str
    msgid: str
    sd_id: str
    params: dict[str, str]
    msg: bytes

    @property
    def payload(self) -> Any:
        return json.loads(self.msg.decode("utf-8"))


def parse_rfc5424(message: bytes) -> Parsed:
    """Read one RFC 5424 message with exactly one SD-ELEMENT (what the forwarder writes)."""
    assert message.startswith(b"<"), message[:40]
    pri_end = message.index(b">")
    pri = int(message[1:pri_end])
    head, rest = message[pri_end + 1 :].split(b" [", 1)
    version, timestamp, hostname, app_name, procid, msgid = head.decode("ascii").split(" ")
    sd, msg = _split_sd(rest.decode("utf-8"))
    sd_id, params = _read_sd(sd)
    return Parsed(pri, version, timestamp, hostname, app_name, procid, msgid, sd_id, params, msg)


def _split_sd(text: str) -> tuple[str, bytes]:
    """The SD-ELEMENT body (without brackets) and the MSG after ``] ``, honouring escapes."""
    quoted, index = False, 0
    while index < len(text):
        char = text[index]
        if quoted and char == "\\":
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif char == "]" and not quoted:
            assert text[index + 1] == " ", "SD must be followed by a space and the MSG"
            return text[:index], text[index + 2 :].encode("utf-8")
        index += 1
    raise AssertionError("unterminated SD-ELEMENT")


def _read_sd(body: str) -> tuple[str, dict[str, str]]:
    sd_id, _, rest = body.partition(" ")
    params: dict[str, str] = {}
    while rest:
        name, rest = rest.split('="', 1)
        value, index = [], 0
        while rest[index] != '"':
            if rest[index] == "\\":
                assert rest[index + 1] in '"\\]', 'only \\, " and ] are escaped'
                index += 1
            else:
                assert rest[index] not in '"]', "unescaped quote or bracket in a PARAM-VALUE"
            value.append(rest[index])
            index += 1
        params[name] = "".join(value)
        rest = rest[index + 1 :].removeprefix(" ")
    return sd_id, params


def split_octet_counted(stream: bytes) -> list[bytes]:
    """RFC 6587 §3.4.1 frames; the stream must hold whole frames and nothing else."""
    frames = []
    while stream:
        length, _, rest = stream.partition(b" ")
        assert length.isdigit() and not length.startswith(b"0"), stream[:20]
        size = int(length)
        assert len(rest) >= size, "a frame was cut short"
        frames.append(rest[:size])
        stream = rest[size:]
    return frames


class UdpReceiver:
    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(WAIT)
        self.port = self.socket.getsockname()[1]

    @property
    def url(self) -> str:
        return f"udp://127.0.0.1:{self.port}"

    def receive(self, count: int) -> list[bytes]:
        return [self.socket.recv(65535) for _ in range(count)]

    def nothing_more(self) -> bool:
        self.socket.settimeout(0.2)
        try:
            self.socket.recv(65535)
        except TimeoutError:
            return True
        finally:
            self.socket.settimeout(WAIT)
        return False

    def close(self) -> None:
        self.socket.close()


class StreamReceiver:
    """A TCP or TLS syslog server that can be stopped and started again on its port."""

    def __init__(self, context: ssl.SSLContext | None = None, port: int = 0) -> None:
        self.context = context
        self.streams: list[bytes] = []  # one per connection that reached its end
        self.handshake_failures = 0
        self._changed = threading.Condition()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(8)
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{'tls' if self.context else 'tcp'}://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _address = self._listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        conn.settimeout(WAIT)
        chunks = []
        try:
            if self.context is not None:
                conn = self.context.wrap_socket(conn, server_side=True)
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        except (ssl.SSLError, OSError):
            with self._changed:
                self.handshake_failures += 1
                self._changed.notify_all()
            return
        finally:
            conn.close()
        with self._changed:
            self.streams.append(b"".join(chunks))
            self._changed.notify_all()

    def frames(self) -> list[bytes]:
        return [frame for stream in self.streams for frame in split_octet_counted(stream)]

    def wait_for(self, count: int) -> list[bytes]:
        """Every frame, once at least ``count`` arrived in connections that ended."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.frames()) >= count, WAIT)
            return self.frames()

    def wait_for_failure(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.handshake_failures > 0, WAIT)

    def stop(self) -> None:
        """Stop listening: from now on a connection is refused, as from a receiver that's down."""
        self._stopped.set()
        self._thread.join(WAIT)
        self._listener.close()
