"""Typed readers for deployment settings taken from the environment.

Deployment configuration lives in the environment (STYLE.md, "two homes for
configuration"). Every reader fails with ``ImproperlyConfigured`` naming the
variable and what a valid value looks like, so a typo stops start-up instead of
silently falling back to a default.
"""

import os
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def text(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def integer(name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if not minimum <= value <= maximum:
        raise ImproperlyConfigured(f"{name} must be between {minimum} and {maximum}, not {value}.")
    return value


def listing(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def base_url(name: str, default: str) -> str:
    """The public base URL: every link we send is built from it, never from Host."""
    raw = text(name, default).rstrip("/")
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ImproperlyConfigured(
            f"{name} must be an absolute http(s) URL such as https://sspr.example.org, not {raw!r}."
        )
    if parts.query or parts.fragment:
        raise ImproperlyConfigured(f"{name} must not carry a query or fragment: {raw!r}.")
    return raw


def service_url(name: str, *, default_ports: dict[str, int]) -> str:
    """A ``scheme://host[:port]`` address of a service we connect to, or "" when unset.

    Returned with the port filled in, so logs and status show where events go.
    Credentials, paths and queries are refused rather than ignored: a value that
    carries them was meant for something else.
    """
    raw = text(name)
    if not raw:
        return ""
    schemes = ", ".join(f"{scheme}://" for scheme in default_ports)
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port: {raw!r}.") from None
    if parts.scheme not in default_ports or not parts.hostname:
        raise ImproperlyConfigured(
            f"{name} must be host and port behind one of {schemes}, not {raw!r}."
        )
    if parts.username or parts.password or parts.path not in {"", "/"}:
        raise ImproperlyConfigured(f"{name} must not carry credentials or a path: {raw!r}.")
    if parts.query or parts.fragment:
        raise ImproperlyConfigured(f"{name} must not carry a query or fragment: {raw!r}.")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}:{port or default_ports[parts.scheme]}"


def readable_file(name: str) -> str:
    """A path to a file that must exist now (a CA bundle, say), or "" when unset."""
    path = text(name)
    if path and not os.path.isfile(path):
        raise ImproperlyConfigured(f"{name} must name a readable file; {path!r} is not one.")
    return path
