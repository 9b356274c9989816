"""``opensspr sync`` against a real slapd (with syncprov, so contextCSN marks are used)."""

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from ldap3 import MODIFY_ADD, MODIFY_REPLACE, NONE, Connection, Server

from opensspr.accounts.models import Group, RoleAssignment, User
from opensspr.accounts.signals import people_changed
from opensspr.audit.models import AuditEvent
from opensspr.core.crypto import seal
from opensspr.directory.errors import DirectoryError
from opensspr.directory.models import DirectorySettings, RoleMapping, SyncState
from opensspr.directory.sync import run_sync
from opensspr.reports.models import RegistrationStatus
from opensspr.reports.selectors import ReportFilters, filter_users
from opensspr.reports.status import bring_up_to_date, mark_stale, refresh_stale
from tests.conftest import open_reset_policy, require_component
from tests.directory import slapd

pytestmark = pytest.mark.django_db
GROUPS = f"ou=groups,{slapd.SUFFIX}"


@pytest.fixture(scope="module")
def sync_slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[slapd.Slapd]:
    """A slapd of its own (the counts must not see other tests' people), with syncprov."""
    require_component("slapd", slapd.SLAPD.exists() and slapd.SLAPADD.exists())
    server = slapd.start(tmp_path_factory.mktemp("sync-slapd"))
    try:
        config = Connection(
            Server(f"ldap://127.0.0.1:{server.ldap_port}", get_info=NONE),
            "cn=admin,cn=config",
            slapd.ADMIN_PW,
            auto_bind=True,
        )
        config.modify("cn=module{0},cn=config", {"olcModuleLoad": [(MODIFY_ADD, ["syncprov"])]})
        assert config.add(
            "olcOverlay=syncprov,olcDatabase={1}mdb,cn=config",
            ["olcOverlayConfig", "olcSyncProvConfig"],
            {"olcOverlay": "syncprov"},
        ), config.result
        config.unbind()
        admin = server.admin()
        admin.add(GROUPS, ["organizationalUnit"], {"ou": "groups"})
        admin.unbind()
        yield server
    finally:
        slapd.stop(server)


@pytest.fixture
def directory(sync_slapd: slapd.Slapd) -> Iterator[Connection]:
    """The rootdn connection for set-up; every test starts from an empty ou=people/groups."""
    admin = sync_slapd.admin()
    for base in (GROUPS, slapd.PEOPLE):
        admin.search(base, "(!(objectClass=organizationalUnit))", attributes=[])
        for entry in list(admin.response):
            admin.delete(entry["dn"])
    DirectorySettings.objects.create(
        pk=1,
        enabled=True,
        urls=f"ldap://127.0.0.1:{sync_slapd.ldap_port}",
        tls_mode="starttls",
        ca_certificate=sync_slapd.tls.ca_file.read_text(),
        server_name=slapd.SERVER_NAME,
        bind_dn=slapd.RESETTER_DN,
        bind_password_sealed=seal(slapd.RESETTER_PW),
        base_dn=slapd.SUFFIX,
        user_ous=slapd.PEOPLE,
        group_ous=GROUPS,
        user_id_suffix="example.org",
    )
    try:
        yield admin
    finally:
        admin.unbind()


def person(admin: Connection, uid: str, **extra: str) -> str:
    dn = f"uid={uid},{slapd.PEOPLE}"
    attributes = {"cn": uid.title(), "sn": uid, "uid": uid, "mail": f"{uid}@mail.example"}
    assert admin.add(dn, ["inetOrgPerson"], attributes | extra), admin.result
    return dn


def group(admin: Connection, name: str, *members: str) -> str:
    dn = f"cn={name},{GROUPS}"
    assert admin.add(dn, ["groupOfNames"], {"cn": name, "member": list(members)}), admin.result
    return dn


@pytest.fixture
def sync(meta) -> Callable[..., object]:
    return lambda **kw: run_sync(meta=meta, **kw)


def test_full_sync_imports_users_groups_and_nesting(directory, sync):
    anna = person(directory, "anna", displayName="Anna Jansen", mobile="+31 6 12345678")
    bert = person(directory, "bert")
    inner = group(directory, "Helpdesk", anna)
    group(directory, "Staff", bert, inner)
    report = sync()
    assert report.full and report.users.created == 2 and not report.errors
    user = User.objects.get(user_id="anna@example.org")
    assert (user.source, user.on_premises_dn) == ("synced", anna)
    assert (user.display_name, user.mobile_phone) == ("Anna Jansen", "+31612345678")
    staff = Group.objects.get(name="Staff")
    assert [g.name for g in staff.member_groups.all()] == ["Helpdesk"]
    assert [u.user_id for u in staff.members.all()] == ["bert@example.org"]
    event = AuditEvent.objects.get(activity="directory.sync_completed")
    assert event.details["users_created"] == 2
    assert not AuditEvent.objects.filter(activity="directory.user_created").exists()


def test_incremental_sync_picks_up_a_change_and_a_new_user(directory, sync):
    anna = person(directory, "anna")
    for name in ("bert", "dora", "erik", "fay"):
        person(directory, name)
    sync()
    assert SyncState.objects.get().mark.startswith("csn|")
    directory.modify(anna, {"displayName": [(MODIFY_REPLACE, ["Anna Changed"])]})
    person(directory, "carl")
    report = sync()
    assert not report.full
    # Only what changed, and the last entry before the mark again (the mark is inclusive).
    assert report.users.read == 3
    assert (report.users.updated, report.users.created) == (1, 1)
    assert User.objects.get(user_id="anna@example.org").display_name == "Anna Changed"
    assert User.objects.filter(user_id="carl@example.org").exists()
    assert AuditEvent.objects.filter(activity="directory.sync_completed").count() == 2


def test_deleted_and_disabled_users_are_mirrored_as_disabled(directory, sync):
    gone = person(directory, "gone")
    locked = person(directory, "locked")
    person(directory, "stays")
    sync()
    directory.delete(gone)
    directory.modify(locked, {"pwdAccountLockedTime": [(MODIFY_REPLACE, ["000001010000Z"])]})
    incremental = sync()
    assert incremental.users.disabled == 1  # the disable; a deletion needs a full run
    sync(full=True)
    enabled = dict(User.objects.values_list("user_id", "account_enabled"))
    assert enabled == {
        "gone@example.org": False,
        "locked@example.org": False,
        "stays@example.org": True,
    }
    reasons = set(
        AuditEvent.objects.filter(activity="directory.sync_user_disabled").values_list(
            "reason", flat=True
        )
    )
    assert reasons == {"directory_state", "not_in_directory"}


def test_admin_role_comes_from_a_nested_directory_group(directory, sync):
    anna = person(directory, "anna")
    bert = person(directory, "bert")
    inner = group(directory, "Tier1", anna)
    admins = group(directory, "Admins", inner)
    RoleMapping.objects.create(settings_id=1, group_dn=admins, role="helpdesk_admin")
    sync()
    assert list(RoleAssignment.objects.values_list("user__user_id", "role")) == [
        ("anna@example.org", "helpdesk_admin")
    ]
    directory.modify(inner, {"member": [(MODIFY_REPLACE, [bert])]})
    sync()
    assert list(RoleAssignment.objects.values_list("user__user_id", "role")) == [
        ("bert@example.org", "helpdesk_admin")
    ]
    assert AuditEvent.objects.filter(activity="directory.sync_roles_changed").count() == 3


def test_bad_entries_are_reported_and_the_run_goes_on(directory, sync, user_factory, capsys):
    user_factory("cloud@example.org")
    person(directory, "good")
    directory.add(f"cn=noid,{slapd.PEOPLE}", ["inetOrgPerson"], {"cn": "noid", "sn": "x"})  # no uid
    person(directory, "bad phone", mobile="12")
    person(directory, "cloud")
    with pytest.raises(SystemExit) as exited:
        call_command("sync")
    assert exited.value.code == 1
    out = capsys.readouterr().out
    assert "1 created" in out
    assert "cn=noid" in out and "no uid" in out
    assert "mobile_phone" in out
    assert "cloud user with this user ID exists" in out
    assert User.objects.get(user_id="cloud@example.org").source == "cloud"


def test_a_full_run_that_reads_nobody_disables_nobody(directory, sync):
    person(directory, "anna")
    sync()
    DirectorySettings.objects.filter(pk=1).update(user_filter="(objectClass=nothing)")
    report = sync(full=True)
    assert report.refused_mass_disable
    assert User.objects.get(user_id="anna@example.org").account_enabled


def test_the_worker_syncs_on_schedule_one_worker_at_a_time(directory, clock):
    from opensspr.directory.schedule import run_due_sync

    person(directory, "anna")
    assert run_due_sync() is not None  # never ran: due
    assert run_due_sync() is None  # ran a moment ago
    clock.advance(minutes=16)  # the default interval is 15 minutes
    SyncState.objects.filter(pk=1).update(lease_until=clock.now + timedelta(minutes=5))
    assert run_due_sync() is None  # another worker holds the run
    SyncState.objects.filter(pk=1).update(lease_until=None)
    assert run_due_sync() is not None
    DirectorySettings.objects.filter(pk=1).update(enabled=False)
    clock.advance(minutes=16)
    assert run_due_sync() is None


def test_a_directory_that_is_down_stops_the_run_and_keeps_the_mark(directory, sync, capsys):
    person(directory, "anna")
    sync()
    mark = SyncState.objects.get().mark
    closed = slapd.free_port()  # nothing listens there
    DirectorySettings.objects.filter(pk=1).update(urls=f"ldap://127.0.0.1:{closed}")
    with pytest.raises(CommandError) as stopped:
        call_command("sync")
    assert stopped.value.returncode == 2
    assert "directory_unavailable" in str(stopped.value)
    assert SyncState.objects.get().mark == mark
    failed = AuditEvent.objects.get(activity="directory.sync_failed")
    assert failed.reason == "directory_unavailable"
    assert slapd.RESETTER_PW not in str(failed.details) + failed.reason


def test_without_syncprov_the_mark_falls_back_to_modify_timestamp(slapd_server, meta):
    """The shared slapd has no syncprov (no contextCSN): modifyTimestamp marks the runs."""
    admin = slapd_server.admin()
    try:
        dn = person(admin, "tsanna")
        DirectorySettings.objects.create(
            pk=1,
            urls=f"ldaps://127.0.0.1:{slapd_server.ldaps_port}",
            tls_mode="ldaps",
            ca_certificate=slapd_server.tls.ca_file.read_text(),
            server_name=slapd.SERVER_NAME,
            bind_dn=slapd.RESETTER_DN,
            bind_password_sealed=seal(slapd.RESETTER_PW),
            base_dn=slapd.SUFFIX,
            user_ous=slapd.PEOPLE,
            user_id_suffix="example.org",
        )
        run_sync(meta=meta)
        assert SyncState.objects.get().mark.startswith("timestamp||")
        admin.modify(dn, {"displayName": [(MODIFY_REPLACE, ["Anna Timestamp"])]})
        report = run_sync(meta=meta)
        assert not report.full
        assert User.objects.get(user_id="tsanna@example.org").display_name == "Anna Timestamp"
    finally:
        admin.delete(f"uid=tsanna,{slapd.PEOPLE}")
        admin.unbind()


def test_the_report_follows_each_sync_at_once(directory, sync, clock):
    """Sync writes in batches, past model signals: it names who changed (``people_changed``)."""
    staff_dn = f"cn=Staff,{GROUPS}"
    anna = person(directory, "anna", mobile="+31 6 12345678")
    person(directory, "bert", mobile="+31 6 87654321")
    group(directory, "Staff", anna)
    sync()
    open_reset_policy(
        methods_required=1,
        writeback_enabled=True,
        scope="selected",
        group=Group.objects.get(name="Staff"),
    )

    def capable() -> set[str]:
        bring_up_to_date(limit=0)  # the report decides nobody itself: the marks must do it
        refresh_stale()  # what the worker does with the marks
        return {u.user_id for u in filter_users(ReportFilters(capable=True))}

    RegistrationStatus.objects.all().delete()
    mark_stale(User.objects.values_list("pk", flat=True))
    assert capable() == {"anna@example.org"}
    directory.modify(staff_dn, {"member": [(MODIFY_ADD, [f"uid=bert,{slapd.PEOPLE}"])]})
    directory.modify(anna, {"mobile": [(MODIFY_REPLACE, [])]})
    sync()
    assert capable() == {"bert@example.org"}
    person(directory, "carl", mobile="+31 6 11111111")
    directory.modify(staff_dn, {"member": [(MODIFY_ADD, [f"uid=carl,{slapd.PEOPLE}"])]})
    sync()
    assert capable() == {"bert@example.org", "carl@example.org"}


def test_each_created_user_is_marked_out_of_date_with_its_own_pk(directory, user_factory, sync):
    """Sync names the users it created by their pks (read back after the batch's COPY)."""
    cloud = user_factory()  # a pk of the same table, not the run's
    RegistrationStatus.objects.all().delete()
    person(directory, "anna")
    person(directory, "bert")
    sync()
    synced = set(User.objects.filter(source="synced").values_list("pk", flat=True))
    assert len(synced) == 2
    assert cloud.pk not in synced
    marked = RegistrationStatus.objects.filter(stale_since__isnull=False)
    assert set(marked.values_list("user_id", flat=True)) == synced
    anna = User.objects.get(user_id="anna@example.org")
    assert anna.on_premises_dn == f"uid=anna,{slapd.PEOPLE}"


def test_a_new_person_is_reported_changed_once_after_their_groups_and_roles_are_set(
    directory, sync
):
    """One ``RegistrationStatus`` write for a new person, and only once they are whole.

    Reported at creation and again when their group's members were set, each new
    person's row was written twice. Reported once, it must be after the groups
    and roles: a decision made in between would miss them.
    """
    anna, bert = person(directory, "anna"), person(directory, "bert")
    staff = group(directory, "Staff", anna, bert)
    RoleMapping.objects.create(settings_id=1, group_dn=staff, role="helpdesk_admin")
    reports: list[tuple[int, bool, bool]] = []

    def record(user_ids=None, **_):
        for pk in user_ids or ():
            member = Group.members.through.objects.filter(user_id=pk).exists()
            role = RoleAssignment.objects.filter(user_id=pk).exists()
            reports.append((pk, member, role))

    people_changed.connect(record, dispatch_uid="test.record")
    try:
        sync()
    finally:
        people_changed.disconnect(dispatch_uid="test.record")
    synced = set(User.objects.filter(source="synced").values_list("pk", flat=True))
    assert sorted(reports) == sorted((pk, True, True) for pk in synced)
    marked = RegistrationStatus.objects.filter(stale_since__isnull=False)
    assert set(marked.values_list("user_id", flat=True)) == synced


def test_new_people_are_reported_changed_when_the_directory_goes_away_mid_run(
    directory, sync_slapd, proxy_to, sync
):
    """Users written before the groups' read failed still get a row to be decided by."""
    person(directory, "anna")
    person(directory, "bert")
    group(directory, "Staff", f"uid=anna,{slapd.PEOPLE}")
    proxy = proxy_to(sync_slapd.ldap_port)
    DirectorySettings.objects.filter(pk=1).update(urls=f"ldap://127.0.0.1:{proxy.port}")

    def cut_after_the_last_person(read: int) -> None:
        if read == 2:
            proxy.set_mode("refuse")

    with pytest.raises(DirectoryError):
        sync(progress=cut_after_the_last_person)
    synced = set(User.objects.filter(source="synced").values_list("pk", flat=True))
    assert len(synced) == 2
    assert not Group.objects.filter(name="Staff").exists()  # the run stopped before its groups
    marked = RegistrationStatus.objects.filter(stale_since__isnull=False)
    assert set(marked.values_list("user_id", flat=True)) == synced


def test_a_run_gives_a_row_to_synced_people_a_killed_run_left_without_one(directory, sync):
    """A run killed before its end never reported its new people: the next run does."""
    person(directory, "anna")
    sync()
    RegistrationStatus.objects.all().delete()  # as a killed run leaves them
    report = sync()
    assert report.users.created == 0
    marked = RegistrationStatus.objects.filter(stale_since__isnull=False)
    assert list(marked.values_list("user__user_id", flat=True)) == ["anna@example.org"]
