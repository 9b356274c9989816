"""Writeback latency against a private directory on loopback: p50/p95/p99/max per layer.

Starts a private slapd with ppolicy through the shared launcher
(``opensspr.demo.slapd``, the tests' tree), or with ``--samba`` a Samba AD DC
through the tests' fixture (``tests/directory/samba.py``: it needs ports 389
and 636 free and takes about 5 s more), adds N people, then times each layer
N times, one person per sample, so a slow figure points at its cause:

* ``connector reset``: ``set_password(..., unlock=True)`` over the pooled service
  session (OpenLDAP: Password Modify with the ppolicy control, then the
  unlock/pwdReset read; AD: ``unicodePwd`` replace, then ``lockoutTime``);
* ``connector change``: ``change_password``, bound as the person on a fresh TLS
  connection, the old password checked by the directory;
* ``sign-in bind``: ``verify_password`` with the changed password, a fresh TLS
  connection bound as the person;
* ``service reset``: what a synced person's reset costs through our code: the
  marker read, the intent row, the write, the settle with the audit event
  (``issue_temporary_password``, so no flow is needed per sample).

``--tcp-nodelay`` is an experiment: it sets ``TCP_NODELAY`` on every TCP socket
this process connects, to show what the fresh-connection layers would cost without
the ~40 ms delayed-ACK stall Nagle's algorithm causes there today.

Target (issue 9): p99 of the writeback (the two resets and the change) at most 50 ms
on loopback slapd. Exit status: 0 when every operation succeeded and (for slapd) the
target is met, 1 otherwise; the figures print either way.

    .venv/bin/python bench/bench_writeback.py [--samples 200] [--quick] [--samba]
                                              [--tcp-nodelay]

Runs with the tests' settings in a throwaway database.
"""

import argparse
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.db import connection

from opensspr.accounts.models import RoleAssignment, User
from opensspr.accounts.roles import AdminRole
from opensspr.accounts.services import UserData, create_user
from opensspr.core.crypto import seal
from opensspr.core.request_meta import RequestMeta
from opensspr.directory import onprem
from opensspr.directory.ldap.active_directory import ActiveDirectory, encode_password
from opensspr.directory.ldap.openldap import OpenLdapDirectory
from opensspr.directory.models import DirectoryKind, DirectorySettings
from opensspr.directory.sync_users import create_synced_user
from opensspr.resets.admin_reset import issue_temporary_password
from tests.directory import samba, slapd

TARGET_MS = 50.0
INITIAL_PW = "Initial-Pass-1"
WRITEBACK = ("connector reset", "connector change", "service reset")


@dataclass
class Target:
    """A running directory, a connector to it, its people and how to configure the service."""

    label: str
    directory: OpenLdapDirectory | ActiveDirectory
    dns: list[str]
    initial: str
    settings: dict[str, object]


@contextmanager
def openldap(folder: Path, count: int) -> Iterator[Target]:
    server = slapd.start(folder)
    try:
        admin = server.admin()
        dns = [f"uid=bench{n},{slapd.PEOPLE}" for n in range(count)]
        for n, dn in enumerate(dns):
            attributes = {
                "cn": "B",
                "sn": "B",
                "uid": f"bench{n}",
                "userPassword": "Initial-Pass-1",
            }
            assert admin.add(dn, ["inetOrgPerson"], attributes), admin.result
        admin.unbind()
        settings = {
            "kind": DirectoryKind.OPENLDAP,
            "urls": f"ldap://127.0.0.1:{server.ldap_port}",
            "tls_mode": "starttls",
            "ca_certificate": server.tls.ca_file.read_text(),
            "server_name": slapd.SERVER_NAME,
            "bind_dn": slapd.RESETTER_DN,
            "bind_password_sealed": seal(slapd.RESETTER_PW),
            "base_dn": slapd.SUFFIX,
        }
        directory = OpenLdapDirectory(slapd.openldap_config(server))
        label = f"slapd with ppolicy on 127.0.0.1:{server.ldap_port}, StartTLS"
        try:
            yield Target(label, directory, dns, INITIAL_PW, settings)
        finally:
            directory.close()
    finally:
        slapd.stop(server)


@contextmanager
def samba_dc(folder: Path, count: int) -> Iterator[Target]:
    missing = samba.missing_parts()
    if missing:
        raise SystemExit(f"--samba: missing {', '.join(missing)} (see ./dev system_packages)")
    server = samba.start(folder)
    try:
        admin = server.admin()
        dns = [f"CN=bench{n},{samba.PEOPLE}" for n in range(count)]
        classes = ["top", "person", "organizationalPerson", "user"]
        for n, dn in enumerate(dns):
            attributes = {
                "sAMAccountName": f"bench{n}",
                "unicodePwd": encode_password(samba.INITIAL_PW),
                "userAccountControl": 512,
            }
            assert admin.add(dn, classes, attributes), admin.result
        admin.unbind()
        hints = server.supports_policy_hints
        settings = {
            "kind": DirectoryKind.ACTIVE_DIRECTORY,
            "urls": f"ldaps://{samba.HOST}:636",
            "tls_mode": "ldaps",
            "ca_certificate": server.ca_file.read_text(),
            "server_name": samba.SERVER_NAME,
            "bind_dn": samba.RESETTER_DN,
            "bind_password_sealed": seal(samba.RESETTER_PW),
            "base_dn": samba.DOMAIN_DN,
            "user_id_attribute": "sAMAccountName",
            "ad_policy_hints": hints,
        }
        directory = ActiveDirectory(samba.ad_connector_config(server), policy_hints=hints)
        label = f"Samba AD DC on {samba.HOST}:636, LDAPS, policy hints {'on' if hints else 'off'}"
        try:
            yield Target(label, directory, dns, samba.INITIAL_PW, settings)
        finally:
            directory.close()
    finally:
        samba.stop(server)


def disable_nagle() -> None:
    """The experiment: every TCP socket this process connects sends at once."""
    connect = socket.socket.connect

    def connect_without_delay(sock: socket.socket, address: object) -> None:
        connect(sock, address)
        if sock.type == socket.SOCK_STREAM and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    socket.socket.connect = connect_without_delay  # type: ignore[method-assign]  # experiment


def percentile(ordered: list[float], p: float) -> float:
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Layers:
    """Times each layer; an operation that raises or answers False is a failure, not a sample."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.p99: dict[str, float] = {}
        self.failures: list[str] = []

    def time(self, label: str, operation: Callable[[int], object]) -> None:
        samples = []
        for n in range(self.count):
            started = time.perf_counter()
            try:
                answer = operation(n)
            except Exception as exc:  # a bench reports every failure and goes on
                self.failures.append(f"{label} #{n}: {type(exc).__name__}: {exc}")
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if answer is False:
                self.failures.append(f"{label} #{n}: the directory said no")
            elif n:  # the first person warms the pool and the caches
                samples.append(elapsed)
        if not samples:
            print(f"{label:<17} no samples")
            return
        ordered = sorted(samples)
        self.p99[label] = percentile(ordered, 99)
        print(
            f"{label:<17} n={len(ordered):<4} p50={statistics.median(ordered):6.1f} ms  "
            f"p95={percentile(ordered, 95):6.1f} ms  p99={self.p99[label]:6.1f} ms  "
            f"max={ordered[-1]:6.1f} ms"
        )


def service_people(target: Target) -> tuple[User, list[User]]:
    DirectorySettings.objects.create(pk=1, **target.settings)
    meta = RequestMeta("127.0.0.1", "bench", "bench")
    admin = create_user(data=UserData("admin@bench.example", "Admin"), meta=meta)
    RoleAssignment.objects.create(user=admin, role=AdminRole.GLOBAL)
    people = [
        create_synced_user(data=UserData(f"bench{n}@bench.example", f"B {n}"), dn=dn, meta=meta)
        for n, dn in enumerate(target.dns)
    ]
    return admin, people


def run(target: Target, count: int) -> Layers:
    directory, dns = target.directory, target.dns
    print(f"{target.label}, {count} people")
    layers = Layers(count)
    reset, changed = "Reset-Pass-{}-x1", "Changed-Pass-{}-y2"
    layers.time(
        "connector reset",
        lambda n: directory.set_password(dns[n], reset.format(n), unlock=True),
    )
    layers.time(
        "connector change",
        lambda n: directory.change_password(dns[n], reset.format(n), changed.format(n)),
    )
    layers.time("sign-in bind", lambda n: directory.verify_password(dns[n], changed.format(n)))
    admin, people = service_people(target)
    meta = RequestMeta("127.0.0.1", "bench", "bench")
    layers.time(
        "service reset",
        lambda n: issue_temporary_password(actor=admin, user=people[n], meta=meta),
    )
    return layers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200, help="people, one sample each")
    parser.add_argument("--quick", action="store_true", help="50 samples")
    parser.add_argument("--samba", action="store_true", help="a Samba AD DC instead of slapd")
    parser.add_argument("--tcp-nodelay", action="store_true", help="experiment: no Nagle")
    args = parser.parse_args()
    if args.tcp_nodelay:
        disable_nagle()
        print("experiment: TCP_NODELAY on every connection this process opens")
    count = 50 if args.quick else args.samples
    folder = Path(tempfile.mkdtemp(prefix="opensspr-bench-writeback-"))
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    start = samba_dc if args.samba else openldap
    try:
        with start(folder / "directory", count) as target:
            layers = run(target, count)
    finally:
        onprem._connectors.reset()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(folder, ignore_errors=True)
    for failure in layers.failures[:10]:
        print(f"FAILED {failure}")
    met = True
    for label in WRITEBACK:
        p99 = layers.p99.get(label)
        ok = p99 is not None and p99 <= TARGET_MS
        met = met and ok
        shown = f"{p99:.1f} ms" if p99 is not None else "no samples"
        print(f"target p99 <= {TARGET_MS:.0f} ms ({label}): {'met' if ok else 'NOT met'} ({shown})")
    if args.samba:
        met = True  # the target is set for slapd; Samba's figures are for comparison
        print("(the target is set for slapd: with --samba only failed operations fail the run)")
    print(f"{os.cpu_count()} cores; {len(layers.failures)} failed operations")
    return 0 if met and not layers.failures else 1


if __name__ == "__main__":
    sys.exit(main())
