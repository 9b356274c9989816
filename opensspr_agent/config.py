"""The agent's configuration file (TOML) and its state file (written at enrolment).

The configuration is the operator's: which server to dial, and how to reach
the directory, service account included; it never leaves this host. The state
file is the agent's own: its id, its credential and its private key, written
once at enrolment with owner-only permissions.
"""

import base64
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from opensspr.directory.ldap.config import LdapConfig, TlsMode
from opensspr.directory.sealing import (
    private_key_bytes,
    private_key_from,
)


class ConfigError(ValueError):
    """The configuration can't work; the message says what to fix."""


@dataclass(frozen=True)
class ServerSettings:
    url: str
    ca_file: str | None = None
    proxy: str | None = field(default=None, repr=False)  # may hold the proxy's password


@dataclass(frozen=True)
class DirectorySettings:
    kind: str
    configs: list[LdapConfig] = field(repr=False)
    policy_hints: bool = True


@dataclass(frozen=True)
class Config:
    server: ServerSettings
    directory: DirectorySettings
    state_file: Path
    workers: int = 4


LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def check_server_url(url: str) -> str:
    """HTTPS, or plain HTTP to this very host only (tests and a local reverse proxy)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url.rstrip("/")
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return url.rstrip("/")
    raise ConfigError(f"server url must be https://host (plain http only to loopback): {url!r}")


def _password(section: dict[str, Any], base: Path) -> str:
    if "bind_password_file" in section:
        path = base / str(section["bind_password_file"])
        return path.read_text(encoding="utf-8").strip()
    if "bind_password" in section:
        return str(section["bind_password"])
    raise ConfigError("[directory] needs bind_password_file (or bind_password)")


def load(path: Path) -> Config:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"can't read {path}: {exc}") from exc
    base = path.parent
    server = data.get("server") or {}
    directory = data.get("directory") or {}
    agent = data.get("agent") or {}
    if not server.get("url"):
        raise ConfigError("[server] url is required")
    kind = str(directory.get("kind", "openldap"))
    if kind not in ("openldap", "active_directory"):
        raise ConfigError("[directory] kind is openldap or active_directory")
    tls = TlsMode(str(directory.get("tls", "ldaps")))
    password = _password(directory, base)
    configs = []
    for url in directory.get("urls") or []:
        parts = urlsplit(str(url))
        wanted = "ldaps" if tls is TlsMode.LDAPS else "ldap"
        if parts.scheme != wanted or not parts.hostname:
            raise ConfigError(f"{url!r}: expected {wanted}://host[:port] for tls = {tls}")
        ca_file = directory.get("ca_file")
        configs.append(
            LdapConfig(
                host=parts.hostname,
                port=parts.port or (636 if tls is TlsMode.LDAPS else 389),
                tls=tls,
                bind_dn=str(directory.get("bind_dn", "")),
                bind_password=password,
                user_base=str(directory.get("base_dn", "")),
                user_id_attribute=str(directory.get("user_id_attribute", "uid")),
                user_object_filter=str(directory.get("user_filter", "(objectClass=inetOrgPerson)")),
                ca_file=str(base / ca_file) if ca_file else None,
                server_name=directory.get("server_name") or None,
                operation_timeout=int(directory.get("operation_timeout", 10)),
                connect_timeout=float(directory.get("connect_timeout", 5)),
                default_policy_dn=directory.get("default_policy_dn") or None,
            )
        )
    if not configs:
        raise ConfigError("[directory] urls lists at least one server")
    ca = server.get("ca_file")
    proxy = server.get("proxy")
    if proxy is not None and not str(proxy).startswith("http://"):
        raise ConfigError(f"[server] proxy must be http://[user:password@]host:port: {proxy!r}")
    return Config(
        server=ServerSettings(
            url=check_server_url(str(server["url"])),
            ca_file=str(base / ca) if ca else None,
            proxy=str(proxy) if proxy else None,
        ),
        directory=DirectorySettings(
            kind=kind, configs=configs, policy_hints=bool(directory.get("policy_hints", True))
        ),
        state_file=base / str(agent.get("state_file", "agent-state.json")),
        workers=max(1, min(int(agent.get("workers", 4)), 32)),
    )


@dataclass(frozen=True)
class State:
    agent_id: str
    credential: str = field(repr=False)
    private_key: X25519PrivateKey = field(repr=False)

    def authorization(self) -> str:
        return f"Agent {self.credential}"


def save_state(path: Path, state: State) -> None:
    """Owner-only, written whole or not at all."""
    data = {
        "agent_id": state.agent_id,
        "credential": state.credential,
        "private_key": base64.urlsafe_b64encode(private_key_bytes(state.private_key)).decode(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)  # a leftover could carry wider permissions
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(temporary, path)


def load_state(path: Path) -> State:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return State(
            agent_id=str(data["agent_id"]),
            credential=str(data["credential"]),
            private_key=private_key_from(base64.urlsafe_b64decode(data["private_key"])),
        )
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(
            f"no usable enrolment in {path}: run `opensspr-agent enrol` first"
        ) from exc
