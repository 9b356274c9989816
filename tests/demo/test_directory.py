"""``opensspr demo --directory openldap``: Lakeside in a real slapd, synced, ready for writeback.

Runs the demo's set-up (not its server) against the slapd the demo itself
starts, then checks what the demo prints: the people arrive as synced users
with their attributes and roles, and the printed ``ldapsearch`` and
``ldapwhoami`` lines work and show what a writeback changes.
"""

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from opensspr.accounts.models import Group, RoleAssignment, User
from opensspr.core.request_meta import RequestMeta
from opensspr.demo import directory as demo
from opensspr.demo import slapd
from opensspr.demo.seed import DEMO_PASSWORD
from opensspr.directory import connector_for, onprem
from opensspr.directory.errors import DirectoryAccountError, DirectoryCode
from opensspr.directory.models import RoleMapping
from opensspr.methods.models import AuthenticatorApp
from opensspr.policy.reset_selectors import eligibility_for
from opensspr.resets.admin_reset import issue_temporary_password
from tests.conftest import require_component

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Harbour-Lights-77"


@pytest.fixture(scope="module")
def running() -> Iterator[demo.DemoDirectory]:
    require_component("slapd and ldap-utils", not slapd.missing_packages())
    require_component("ldapsearch", shutil.which("ldapsearch") is not None)
    with demo.running_directory() as directory:
        yield directory


@pytest.fixture
def directory(running: demo.DemoDirectory) -> Iterator[demo.DemoDirectory]:
    try:
        yield demo.set_up_directory(running)
    finally:
        onprem._connectors.reset()  # the pooled connector belongs to this test's settings


def shell(line: str) -> subprocess.CompletedProcess[str]:
    """Run a line exactly as the demo prints it for the operator to paste."""
    return subprocess.run(
        ["/bin/sh", "-c", line], capture_output=True, text=True, timeout=10, check=False
    )


def test_the_lakeside_people_are_synced_with_their_attributes(directory):
    jan = User.objects.get(user_id="jan.jansen@lakeside.example")
    assert (jan.source, jan.on_premises_dn) == ("synced", demo.person_dn("jan.jansen"))
    assert (jan.display_name, jan.given_name, jan.surname) == ("Jan Jansen", "Jan", "Jansen")
    assert (jan.email, jan.mobile_phone, jan.office_phone) == (
        "jan.jansen@lakeside.example",
        "+31612345602",
        "+31205550102",
    )
    assert jan.auth_email == "jan.jansen@mail.example"  # seeded as in the plain demo
    assert AuthenticatorApp.objects.filter(user=jan).exists()
    assert not jan.has_usable_password()  # the password lives in the directory
    assert eligibility_for(jan).eligible  # writeback is on, so a synced person may reset
    synced = set(User.objects.filter(source="synced").values_list("user_id", flat=True))
    assert synced == {a.data.user_id for a in demo.members()}
    pat = User.objects.get(user_id__startswith="pat_partner")
    assert (pat.source, pat.user_type) == ("cloud", "guest")
    staff = Group.objects.get(name="All staff")
    assert staff.members.count() == len(demo.members())
    pilot = Group.objects.get(name="SSPR pilot")
    assert [g.name for g in pilot.member_groups.all()] == ["Sales"]


def test_administrators_come_from_the_mapped_directory_groups(directory):
    assert RoleMapping.objects.count() == 2
    roles = set(RoleAssignment.objects.values_list("user__user_id", "role"))
    assert roles == {
        ("ada.admin@lakeside.example", "global_admin"),
        ("hugo.helpdesk@lakeside.example", "helpdesk_admin"),
    }


def test_the_demo_passwords_and_oscars_must_change_are_the_directorys(directory):
    connector = connector_for(User.objects.get(user_id="maria.garcia@lakeside.example"))
    maria = User.objects.get(user_id="maria.garcia@lakeside.example")
    assert connector.verify_password(maria, DEMO_PASSWORD)
    oscar = User.objects.get(user_id="oscar.old@lakeside.example")
    assert connector.account_state(oscar).must_change
    with pytest.raises(DirectoryAccountError) as told:  # the right password, a change first
        connector.verify_password(oscar, DEMO_PASSWORD)
    assert told.value.code == DirectoryCode.MUST_CHANGE_PASSWORD
    policy = connector.password_policy(maria)
    assert (policy.min_length, policy.history, policy.lockout_threshold) == (8, 5, 5)


def test_the_printed_commands_show_a_writeback_and_bind_with_the_new_password(directory):
    jan = User.objects.get(user_id="jan.jansen@lakeside.example")
    before = shell(directory.ldapsearch())
    assert before.returncode == 0, before.stderr
    assert f"dn: {demo.person_dn('jan.jansen')}" in before.stdout
    assert "pwdChangedTime:" in before.stdout and "pwdAccountLockedTime" not in before.stdout
    wrong = directory.ldapwhoami().replace(" -W", " -w Wrong-Password-1")
    for _ in range(int(demo.DEFAULT_POLICY["pwdMaxFailure"])):
        assert shell(wrong).returncode != 0
    assert "pwdAccountLockedTime:" in shell(directory.ldapsearch()).stdout
    # A reset with unlock, through the demo's least-privileged service account.
    connector_for(jan).set_password(jan, NEW_PASSWORD, unlock=True)
    after = shell(directory.ldapsearch()).stdout
    assert "pwdAccountLockedTime" not in after
    # pwdChangedTime is shown (whole seconds: a reset in the seeding's second keeps its
    # value, so the new password's bind below is the proof that it changed).
    assert any(line.startswith("pwdChangedTime:") for line in after.splitlines())
    whoami = shell(directory.ldapwhoami().replace(" -W", f" -w {NEW_PASSWORD}"))
    assert whoami.returncode == 0, whoami.stderr
    assert whoami.stdout.strip() == f"dn:{demo.person_dn('jan.jansen')}"
    assert "pwdReset" not in shell(directory.ldapsearch()).stdout  # his own reset: no change due


def test_slapd_stops_and_its_folder_goes_when_the_demo_fails():
    require_component("slapd", not slapd.missing_packages())
    started: list[slapd.Slapd] = []

    def demo_that_fails() -> None:
        with demo.running_directory() as directory:
            started.append(directory.server)
            raise RuntimeError("the demo stops")

    with pytest.raises(RuntimeError):
        demo_that_fails()
    assert started[0].process.poll() is not None
    assert not started[0].folder.parent.exists()


def test_without_slapd_the_demo_names_the_packages(monkeypatch, tmp_path):
    monkeypatch.setattr(slapd, "SLAPD", tmp_path / "no-slapd")
    with pytest.raises(demo.DirectoryDemoError, match="slapd and ldap-utils"):
        demo.running_directory().__enter__()


def test_a_temporary_password_from_the_console_must_be_changed_at_sign_in(directory):
    ada = User.objects.get(user_id="ada.admin@lakeside.example")
    maria = User.objects.get(user_id="maria.garcia@lakeside.example")
    temporary = issue_temporary_password(actor=ada, user=maria, meta=RequestMeta.system())
    with pytest.raises(DirectoryAccountError) as told:
        connector_for(maria).verify_password(maria, temporary)
    assert told.value.code == DirectoryCode.MUST_CHANGE_PASSWORD
    connector_for(maria).change_password(maria, temporary, NEW_PASSWORD)
    assert connector_for(maria).verify_password(maria, NEW_PASSWORD)
