"""A loopback TCP proxy that can cut or stall connections (directory down and slow).

Modes: ``pass`` forwards both ways; ``refuse`` closes every new and open
connection (the directory is down); ``stall`` accepts and reads but forwards
nothing and answers nothing (a blackholed or hung server). Bytes held while
stalled are dropped, so a request sent during a stall never reaches the server.
``mute`` forwards what clients send but drops every answer: the request is
done by the server and its response is lost (the case the reconciler is for).
``slow`` forwards both ways but holds each answer for ``delay`` seconds: a
request is done at once, its answer comes late (time to act in between).
"""

import socket
import threading
import time
from contextlib import suppress


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.mode = "pass"
        self.delay = 0.5  # seconds an answer is held in "slow" mode
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.client_bytes = bytearray()
        self.connections = 0  # how many TCP connections clients opened  # everything clients sent, to prove what crossed the wire
        threading.Thread(target=self._accept, daemon=True).start()

    def set_mode(self, mode: str) -> None:
        assert mode in ("pass", "refuse", "stall", "mute", "slow")
        self.mode = mode
        if mode == "refuse":
            self._cut_all()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _cut_all(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode == "refuse":
                client.close()
                continue
            self.connections += 1
            self._track(client)
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            self._track(upstream)
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        try:
            while data := source.recv(65536):
                if from_client:
                    self.client_bytes += data
                if self.mode == "slow" and not from_client:
                    time.sleep(self.delay)
                if self.mode in ("pass", "slow") or (self.mode == "mute" and from_client):
                    sink.sendall(data)
                # stall: swallow the bytes; refuse: the sockets get closed
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self._cut_all()
