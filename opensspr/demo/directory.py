"""The demo with its people in a real OpenLDAP: ``opensspr demo --directory openldap``.

``running_directory`` starts a private slapd (``demo.slapd``) in a temporary
folder holding Lakeside's members, groups and a default password policy, and
stops it and removes the folder however the demo ends. ``set_up_directory``
points the on-premises directory settings at it and runs a full sync, so the
people exist here the only way synced users can: through sync (source
``synced``, their entry's DN). Their passwords stay in the directory: sign-in
binds there and resets, changes and unlocks are written back.

The service account is not the rootdn and holds exactly the writeback rights:
write ``userPassword``, ``pwdAccountLockedTime`` and ``pwdReset``; read the rest.
Pat, the guest, is no directory entry: guests are cloud accounts here.
"""

import os
import secrets
import shlex
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from ldap3 import MODIFY_REPLACE, Connection, Server

from opensspr.accounts.models import User, UserSource, UserType
from opensspr.accounts.roles import AdminRole
from opensspr.accounts.services import create_user
from opensspr.accounts.signals import people_changed
from opensspr.core.crypto import seal
from opensspr.core.memo import forget
from opensspr.core.request_meta import RequestMeta
from opensspr.demo import slapd
from opensspr.demo.seed import (
    ACCOUNTS,
    DEMO_PASSWORD,
    DOMAIN,
    DemoAccount,
    DemoSeed,
    seed_jan_methods,
    seed_organisation,
)
from opensspr.directory.models import DirectoryKind, DirectorySettings, RoleMapping, TlsChoice
from opensspr.directory.sync import SyncReport, run_sync
from opensspr.policy.models import SSPR_POLICY_KEY, SsprPolicy

SUFFIX = "dc=lakeside,dc=example"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
POLICIES = f"ou=policies,{SUFFIX}"
SERVICE_DN = f"cn=opensspr,ou=services,{SUFFIX}"
#: The directory groups whose members hold an administrator role here (RoleMapping).
ROLE_GROUPS: dict[str, str] = {AdminRole.GLOBAL: "Administrators", AdminRole.HELPDESK: "Helpdesk"}
NESTED_GROUPS = {"SSPR pilot": ("Sales",)}  # as in the plain demo: Sales is in the pilot
MUST_CHANGE = "oscar.old"  # pwdReset: must change his password at sign-in
#: What the demo prints beside an account, where it differs from the plain demo.
NOTES = {
    f"{MUST_CHANGE}@{DOMAIN}": "member who must change his password at sign-in (pwdReset)",
}
GUEST_NOTE = " (a cloud account: not in the directory)"
#: The default policy (olcPPolicyDefault): what the new-password page shows beside ours.
DEFAULT_POLICY = {
    "pwdMinLength": "8",
    "pwdInHistory": "5",
    "pwdMinAge": "0",
    "pwdMaxFailure": "5",
    "pwdLockoutDuration": "900",
    "pwdFailureCountInterval": "900",
    # slapd enforces pwdReset (Oscar's, or an administrator's temporary password) at bind
    # only under pwdMustChange; without it a "must change" would not be asked for.
    "pwdMustChange": "TRUE",
}


class DirectoryDemoError(Exception):
    """The demo directory can't be set up (message says why and what to do)."""


def members() -> list[DemoAccount]:
    """The demo accounts that live in the directory: every member, no guest."""
    return [a for a in ACCOUNTS if a.data.user_type == UserType.MEMBER]


def uid_of(account: DemoAccount) -> str:
    return account.data.user_id.removesuffix(f"@{DOMAIN}")


def person_dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


def _base_entries(service_password: str) -> str:
    units = ("people", "groups", "policies", "services")
    return "\n".join(
        [
            f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\n"
            "o: Lakeside\ndc: lakeside\n",
            *(
                f"dn: ou={unit},{SUFFIX}\nobjectClass: organizationalUnit\nou: {unit}\n"
                for unit in units
            ),
            slapd.policy_entry(f"cn=default,{POLICIES}", **DEFAULT_POLICY),
            f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\n"
            f"objectClass: simpleSecurityObject\ncn: opensspr\nuserPassword: {service_password}\n",
        ]
    )


def tree(service_password: str) -> slapd.Tree:
    return slapd.Tree(
        suffix=SUFFIX,
        service_dn=SERVICE_DN,
        service_password=service_password,
        entries=_base_entries(service_password),
        server_name="localhost",
        certificate_ips=("127.0.0.1",),
        service_rights="read",
    )


def _person(account: DemoAccount) -> dict[str, str]:
    data = account.data
    attributes = {
        "uid": uid_of(account),
        "cn": data.display_name,
        "sn": data.surname,
        "givenName": data.given_name,
        "displayName": data.display_name,
        "mail": data.email,
        "mobile": data.mobile_phone,
        "telephoneNumber": data.office_phone,
    }
    return {name: value for name, value in attributes.items() if value}


def _groups() -> dict[str, list[str]]:
    """Group name -> member DNs, from the accounts' groups and roles."""
    groups: dict[str, list[str]] = {}
    for account in members():
        names = list(account.data.groups) + [ROLE_GROUPS[r] for r in account.data.roles]
        for name in names:
            groups.setdefault(name, []).append(person_dn(uid_of(account)))
    for name, inner in NESTED_GROUPS.items():
        groups.setdefault(name, []).extend(f"cn={g},{GROUPS}" for g in inner)
    return groups


def populate(server: slapd.Slapd, service_password: str) -> None:
    """Add the people and groups as the rootdn, then set each password as the service account.

    The passwords go through Password Modify like a reset, so ppolicy hashes them
    and stamps ``pwdChangedTime`` (an add doesn't), which the printed
    ``ldapsearch`` then shows moving.
    """
    admin = server.admin()
    service = Connection(
        Server(f"ldap://127.0.0.1:{server.ldap_port}"), SERVICE_DN, service_password
    )
    try:
        for account in members():
            dn = person_dn(uid_of(account))
            _check(admin, admin.add(dn, ["inetOrgPerson"], _person(account)), dn)
        for name, dns in _groups().items():
            dn = f"cn={name},{GROUPS}"
            _check(admin, admin.add(dn, ["groupOfNames"], {"cn": name, "member": dns}), dn)
        service.bind()  # loopback, set-up only: the product itself speaks TLS
        for account in members():
            dn = person_dn(uid_of(account))
            done = service.extend.standard.modify_password(user=dn, new_password=DEMO_PASSWORD)
            _check(service, done, dn)
        dn = person_dn(MUST_CHANGE)
        _check(admin, admin.modify(dn, {"pwdReset": [(MODIFY_REPLACE, ["TRUE"])]}), dn)
    finally:
        service.unbind()
        admin.unbind()


def _check(connection: Connection, done: object, dn: str) -> None:
    if not done:
        raise DirectoryDemoError(f"setting up {dn}: {connection.result['description']}")


@dataclass
class DemoDirectory:
    """A running demo slapd and everything the demo prints about it."""

    server: slapd.Slapd
    service_password: str
    report: SyncReport | None = None
    seed: DemoSeed | None = None

    @property
    def url(self) -> str:
        return f"ldaps://127.0.0.1:{self.server.ldaps_port}"

    @property
    def ca_file(self) -> str:
        return str(self.server.tls.ca_file)

    def ldapsearch(self, uid: str = "jan.jansen") -> str:
        """A shell line showing the password state writeback changes, as the service account."""
        command = [
            "ldapsearch", "-LLL", "-x", "-H", self.url, "-D", SERVICE_DN,
            "-w", self.service_password, "-b", person_dn(uid), "-s", "base",
            "pwdChangedTime", "pwdAccountLockedTime", "pwdFailureTime", "pwdReset",
        ]  # fmt: skip
        return f"LDAPTLS_CACERT={shlex.quote(self.ca_file)} {shlex.join(command)}"

    def ldapwhoami(self, uid: str = "jan.jansen") -> str:
        """A shell line binding as the person; ``-W`` asks for the password."""
        command = ["ldapwhoami", "-x", "-H", self.url, "-D", person_dn(uid), "-W"]
        return f"LDAPTLS_CACERT={shlex.quote(self.ca_file)} {shlex.join(command)}"


@contextmanager
def running_directory() -> Iterator[DemoDirectory]:
    """A populated demo slapd in a temporary folder, stopped and removed on the way out.

    Only the process that started slapd cleans up: gunicorn's workers are
    forked from the demo and leave through this frame too.
    """
    missing = slapd.missing_packages()
    if missing:
        raise DirectoryDemoError(
            f"--directory openldap needs OpenLDAP's server and tools: install the Debian "
            f"packages {' and '.join(missing)} (apt-get install {' '.join(missing)})."
        )
    owner = os.getpid()
    folder = Path(tempfile.mkdtemp(prefix="opensspr-demo-openldap-"))
    server = None
    try:
        password = secrets.token_urlsafe(18)
        server = slapd.start(folder / "slapd", tree(password))
        populate(server, password)
        yield DemoDirectory(server, password)
    finally:
        if os.getpid() == owner:
            if server is not None:
                slapd.stop(server)
            shutil.rmtree(folder, ignore_errors=True)


def configure(directory: DemoDirectory) -> DirectorySettings:
    """Point the on-premises directory settings at the demo slapd (LDAPS, its own CA)."""
    with transaction.atomic():
        settings, _created = DirectorySettings.objects.update_or_create(
            pk=1,
            defaults={
                "enabled": True,
                "kind": DirectoryKind.OPENLDAP,
                "urls": directory.url,
                "tls_mode": TlsChoice.LDAPS,
                "ca_certificate": directory.server.tls.ca_file.read_text(),
                "server_name": "localhost",  # ldap3 matches names, not IP addresses
                "bind_dn": SERVICE_DN,
                "bind_password_sealed": seal(directory.service_password),
                "base_dn": SUFFIX,
                "user_ous": PEOPLE,
                "group_ous": GROUPS,
                "user_id_suffix": DOMAIN,
                "ppolicy_default_dn": f"cn=default,{POLICIES}",
            },
        )
        for role, name in ROLE_GROUPS.items():
            RoleMapping.objects.get_or_create(
                settings=settings, group_dn=f"cn={name},{GROUPS}", role=role
            )
    return settings


def _seed_contacts() -> None:
    """The authentication emails the plain demo registers (not directory attributes).

    Demo seeding, like the plain demo's ``create_user``: written directly, once,
    without the "your security info changed" notice an administrator's change sends.
    """
    for account in members():
        if account.data.auth_email:
            User.objects.filter(user_id=account.data.user_id, auth_email="").update(
                auth_email=account.data.auth_email
            )
    people_changed.send(sender=User, user_ids=User.objects.values_list("pk", flat=True))


def _seed_guests(meta: RequestMeta) -> None:
    for account in ACCOUNTS:
        if account.data.user_type == UserType.MEMBER:
            continue
        if not User.objects.filter(user_id=account.data.user_id).exists():
            create_user(data=account.data, meta=meta, password=DEMO_PASSWORD)


def set_up_directory(directory: DemoDirectory) -> DemoDirectory:
    """Settings, a full sync, then the plain demo's methods; raises if sync refused anyone."""
    meta = RequestMeta.system()
    seed_organisation(meta)
    # Synced people may reset only with writeback on (the policy's default is off).
    SsprPolicy.objects.filter(pk=1).update(writeback_enabled=True)
    forget(SSPR_POLICY_KEY)  # update() sends no signal
    people_changed.send(sender=SsprPolicy, user_ids=None)  # a policy change: everyone
    configure(directory)
    report = run_sync(meta=meta, full=True)
    if report.errors:
        problems = "; ".join(f"{e.dn}: {' '.join(e.messages)}" for e in report.errors)
        raise DirectoryDemoError(
            f"sync refused some demo people ({problems}). If this data folder holds the plain "
            "demo's accounts, point OPENSSPR_DATA_DIR at an empty folder."
        )
    synced = User.objects.filter(source=UserSource.SYNCED).count()
    if synced != len(members()):
        raise DirectoryDemoError(f"sync brought {synced} people, expected {len(members())}")
    with transaction.atomic():
        _seed_contacts()
        _seed_guests(meta)
        directory.seed = seed_jan_methods()
    directory.report = report
    return directory
