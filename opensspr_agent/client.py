"""The agent's HTTPS client: one kept-alive connection per thread, certificate checked.

Standard library only (``http.client``), so the agent installs anywhere.
The server's certificate is validated against the configured CA file or the
system's; there is no option to turn validation off.

Through a forward proxy (``[server] proxy``, else ``HTTPS_PROXY`` unless
``NO_PROXY`` names the server) the connection is an HTTP ``CONNECT`` tunnel:
the proxy sees only the server's name and port, and TLS, with the server's
certificate checked against its name, runs end to end inside the tunnel.
Credentials in the proxy's URL go as ``Proxy-Authorization`` (Basic), to the
proxy only.
"""

import base64
import http.client
import json
import ssl
import threading
import urllib.request
from typing import Any
from urllib.parse import unquote, urlsplit


class ServerError(Exception):
    """The server answered with a problem (``status``, ``kind``) or couldn't be reached."""

    def __init__(self, status: int, kind: str, title: str = "") -> None:
        super().__init__(f"{status} {kind}: {title}")
        self.status, self.kind, self.title = status, kind, title


class Client:
    def __init__(
        self, url: str, *, ca_file: str | None, timeout: float = 35.0, proxy: str | None = None
    ) -> None:
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.context = ssl.create_default_context(cafile=ca_file) if self.https else None
        self.authorization = ""
        self.proxy = proxy_for(self.host, proxy) if self.https else None
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            if self.https and self.proxy:
                host, port, headers = self.proxy
                connection = http.client.HTTPSConnection(
                    host, port, timeout=self.timeout, context=self.context
                )
                connection.set_tunnel(self.host, self.port, headers=headers)
            elif self.https:
                connection = http.client.HTTPSConnection(
                    self.host, self.port, timeout=self.timeout, context=self.context
                )
            else:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.connection = connection
        return connection

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def post(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """POST JSON; (status, body). Raises ``ServerError`` for 4xx/5xx and transport failures."""
        payload = json.dumps(body or {}).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.authorization:
            headers["Authorization"] = self.authorization
        for attempt in (1, 2):  # a kept-alive connection the server closed: reopen once
            connection = self._connection()
            try:
                connection.request("POST", self.prefix + path, body=payload, headers=headers)
                response = connection.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if attempt == 2:
                    raise ServerError(0, "unreachable", _why(exc)) from exc
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise ServerError(0, "unreachable", _why(exc)) from exc
        data: dict[str, Any] = {}
        if raw:
            try:
                loaded = json.loads(raw)
                data = loaded if isinstance(loaded, dict) else {}
            except ValueError:
                data = {}
        if response.status >= 400:
            kind = str(data.get("type", "")).rpartition(":")[2] or "http"
            raise ServerError(response.status, kind, str(data.get("title", "")))
        return response.status, data


def _why(exc: BaseException) -> str:
    """A transport failure in words: its class and its message (a tunnel's status, a
    certificate's fault), which never hold what was sent."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def proxy_for(host: str, configured: str | None) -> tuple[str, int, dict[str, str]] | None:
    """The forward proxy to tunnel through to ``host``: (host, port, CONNECT headers), or None.

    ``configured`` (the config file's) wins; without it, the environment's
    ``HTTPS_PROXY``, unless ``NO_PROXY`` covers ``host``.
    """
    url = configured
    if url is None:
        url = urllib.request.getproxies_environment().get("https")
        if url and urllib.request.proxy_bypass(host):
            url = None
    if not url:
        return None
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"proxy must be http://host:port: {url!r}")
    headers = {}
    if parts.username:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    return parts.hostname, parts.port or 3128, headers
