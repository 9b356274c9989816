"""An HTTP request's ASGI scope, for tests that call the served application directly."""

from typing import Any


def http_scope(path: str) -> dict[str, Any]:
    """A ``GET`` (no CSRF token to carry) from a loopback client to ``testserver``."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
