"""Sync of N directory users against a raw paged read of the same entries, and a 1% incremental.

Seeds N people (and N/1000 groups of 1000, nested in one parent group) into a
private slapd with ppolicy and syncprov, offline with ``slapadd -q -w``, then
prints, in the same run and over the same StartTLS connection settings:

* a raw paged read of the same entries and attributes with ldap3's own
  ``paged_search`` (the floor: what reading alone costs in this library);
* a full ``run_sync`` into an empty database (target: at most 1.5x the raw read);
* after changing 1% of the people, an incremental ``run_sync`` (target: at most 5 s).

    .venv/bin/python bench/bench_sync.py [--users 100000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_sync \\
        .venv/bin/python bench/bench_sync.py

Runs with the tests' settings: SQLite in a temporary folder, or a fresh
``test_<name>`` PostgreSQL database dropped at the end. Figures, never assertions.
"""

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.db import connection
from ldap3 import MODIFY_REPLACE, SUBTREE, Connection

from opensspr.accounts.models import User
from opensspr.core.crypto import seal
from opensspr.core.request_meta import RequestMeta
from opensspr.demo import slapd as launcher
from opensspr.directory.ldap.connection import open_bound
from opensspr.directory.models import DirectorySettings
from opensspr.directory.sync import run_sync
from tests.directory import slapd

GROUPS = f"ou=groups,{slapd.SUFFIX}"
GROUP_SIZE = 1000
# The service account reads the whole tree in pages: slapd's default size limit (500)
# would stop a paged search there (docs/operators/openldap.md says the same).
LIMITS = f'olcLimits: dn.exact="{slapd.RESETTER_DN}" size.prtotal=unlimited size.soft=unlimited\n'
SYNCPROV = """
dn: olcOverlay={1}syncprov,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {1}syncprov
"""


def _people(count: int) -> str:
    lines = [f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n"]
    for n in range(count):
        lines.append(
            f"dn: uid=user{n},{slapd.PEOPLE}\nobjectClass: inetOrgPerson\nuid: user{n}\n"
            f"cn: User {n}\nsn: Person{n}\ngivenName: User\ndisplayName: User {n}\n"
            f"mail: user{n}@mail.example\nmobile: +316{10000000 + n}\n"
        )
    groups = []
    for g in range(max(1, count // GROUP_SIZE)):
        members = "".join(
            f"member: uid=user{n},{slapd.PEOPLE}\n"
            for n in range(g * GROUP_SIZE, min(count, (g + 1) * GROUP_SIZE))
        )
        groups.append(f"cn=team{g},{GROUPS}")
        lines.append(f"dn: cn=team{g},{GROUPS}\nobjectClass: groupOfNames\ncn: team{g}\n{members}")
    nested = "".join(f"member: {dn}\n" for dn in groups)
    lines.append(f"dn: cn=everyone,{GROUPS}\nobjectClass: groupOfNames\ncn: everyone\n{nested}")
    return "\n".join(lines)


def start_seeded(folder: Path, count: int) -> slapd.Slapd:
    """The tests' tree plus syncprov and ``count`` people, loaded offline by the shared launcher."""

    def tuned(config: str) -> str:
        return (
            config.replace(
                "olcModuleLoad: ppolicy\n", "olcModuleLoad: ppolicy\nolcModuleLoad: syncprov\n"
            )
            .replace(
                "olcDbIndex: mail eq\n", "olcDbIndex: mail eq\nolcDbIndex: entryCSN eq\n" + LIMITS
            )
            .replace("olcDbMaxSize: 1073741824", "olcDbMaxSize: 8589934592")
            + SYNCPROV
        )

    folder.mkdir(parents=True)
    started = time.perf_counter()
    tls = launcher.prepare(folder, slapd.TREE, edit_config=tuned)
    launcher.slapadd(folder, 1, slapd.BASE + "\n" + _people(count), "-w")
    server = launcher.launch(folder, slapd.TREE, tls)
    seconds = time.perf_counter() - started
    print(f"slapd: {count} people seeded with slapadd in {seconds:.1f} s")
    return server


def configure(server: slapd.Slapd) -> DirectorySettings:
    return DirectorySettings.objects.create(
        pk=1,
        enabled=True,
        urls=f"ldap://127.0.0.1:{server.ldap_port}",
        tls_mode="starttls",
        ca_certificate=server.tls.ca_file.read_text(),
        server_name=slapd.SERVER_NAME,
        bind_dn=slapd.RESETTER_DN,
        bind_password_sealed=seal(slapd.RESETTER_PW),
        base_dn=slapd.SUFFIX,
        user_ous=slapd.PEOPLE,
        group_ous=GROUPS,
        user_id_suffix="example.org",
    )


def raw_read(settings: DirectorySettings) -> tuple[float, int]:
    """ldap3's own paged search over the same entries and attributes (no processing)."""
    amap = settings.attribute_map()
    config = settings.ldap_configs()[0]
    conn, _bound = open_bound(config, config.bind_dn, config.bind_password)
    started, count = time.perf_counter(), 0
    for base, search_filter, attributes in (
        (slapd.PEOPLE, settings.user_filter, amap.user_attributes()),
        (GROUPS, settings.group_filter, amap.group_attributes()),
    ):
        for item in conn.extend.standard.paged_search(
            base, search_filter, SUBTREE, attributes=attributes, paged_size=500, generator=True
        ):
            count += item.get("type") == "searchResEntry"
    conn.unbind()
    return time.perf_counter() - started, count


def change_one_percent(server: slapd.Slapd, count: int) -> int:
    admin: Connection = server.admin()
    changed = max(1, count // 100)
    for n in range(0, count, count // changed)[:changed]:
        dn = f"uid=user{n},{slapd.PEOPLE}"
        admin.modify(dn, {"displayName": [(MODIFY_REPLACE, [f"Renamed {n}"])]})
    admin.unbind()
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # a TextIOWrapper here
    folder = Path(tempfile.mkdtemp(prefix="opensspr-bench-sync-"))
    if connection.vendor == "sqlite":
        connection.settings_dict["TEST"]["NAME"] = f"{folder}/bench.sqlite3"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    server = start_seeded(folder / "slapd", args.users)
    try:
        settings = configure(server)
        raw_read(settings)  # warm slapd's caches, so neither side pays for cold pages
        raw_seconds, entries = raw_read(settings)
        print(f"raw paged read (ldap3 paged_search): {entries} entries in {raw_seconds:.2f} s")
        started = time.perf_counter()
        report = run_sync(meta=RequestMeta.system(), full=True)
        full_seconds = time.perf_counter() - started
        print(
            f"full sync ({connection.vendor}): {report.users.created} users, "
            f"{report.groups.read} groups in {full_seconds:.2f} s = "
            f"{full_seconds / raw_seconds:.2f}x the raw read (target <= 1.5x); "
            f"{len(report.errors)} entry errors"
        )
        changed = change_one_percent(server, args.users)
        started = time.perf_counter()
        report = run_sync(meta=RequestMeta.system())
        seconds = time.perf_counter() - started
        print(
            f"incremental sync after changing {changed} people (1%): read {report.users.read}, "
            f"updated {report.users.updated} in {seconds:.2f} s (target <= 5 s); "
            f"{User.objects.count()} users stored; {os.cpu_count()} cores"
        )
    finally:
        slapd.stop(server)
        connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
