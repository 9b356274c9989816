"""A forward proxy on loopback that only tunnels (HTTP CONNECT), as a corporate one would.

It records each tunnel's target and the ``Proxy-Authorization`` it was given,
so a test can see the agent's traffic went through it, and refuses (407) a
request without the credentials it was told to expect.
"""

import select
import socket
import threading


class ConnectProxy:
    def __init__(self, *, credentials: str = "") -> None:
        self.credentials = credentials  # the expected "Basic ..." header value, if any
        self.tunnels: list[tuple[str, str]] = []  # (host:port, Proxy-Authorization)
        self.refused = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 16384:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines[1:])
            }
            given = headers.get("proxy-authorization", "")
            if method != "CONNECT" or (self.credentials and given != self.credentials):
                self.refused += 1
                client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
                return
            self.tunnels.append((target, given))
            host, _, port = target.rpartition(":")
            try:
                upstream = socket.create_connection((host, int(port)), timeout=10)
            except OSError:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
                return
            with upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self._pipe(client, upstream)

    @staticmethod
    def _pipe(one: socket.socket, other: socket.socket) -> None:
        peers = {one: other, other: one}
        while True:
            ready, _, _ = select.select(list(peers), [], [], 60)
            if not ready:
                return
            for sock in ready:
                try:
                    data = sock.recv(65536)
                    if data:
                        peers[sock].sendall(data)
                except ConnectionError:  # a side hung up hard (a client refusing the certificate)
                    return
                if not data:
                    return

    def close(self) -> None:
        self._closing = True
        self._listener.close()
