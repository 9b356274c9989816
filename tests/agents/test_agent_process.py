"""The real agent process against the real server and a private slapd with ppolicy.

Every operation a person or an administrator starts crosses three processes:
the ``driver`` submits a job, the server hands it to an agent over its long
poll, the agent writes to slapd and answers. The directory is then asked
directly (its own bind) whether the password really changed.
"""

import itertools
import os
import signal
import threading

import pytest
from ldap3 import MODIFY_REPLACE

from opensspr.directory.ldap.openldap import OpenLdapDirectory
from tests.agents.conftest import WINDOW_SECONDS, Agents, Site, wait_for
from tests.directory import slapd

pytestmark = pytest.mark.skipif(
    not slapd.SLAPD.exists(), reason="slapd is not installed (./dev test installs it)"
)
OLD = "Initial-Pass-1"
NEW = "Lantern-Harbour-Quiet-93"
_serial = itertools.count(1)


@pytest.fixture
def direct(directory_server):
    """The directory as the test sees it, not through any agent."""
    directory = OpenLdapDirectory(slapd.openldap_config(directory_server))
    try:
        yield directory
    finally:
        directory.close()


def _person(site: Site, server: slapd.Slapd) -> tuple[str, str]:
    uid = f"agentjan{next(_serial)}"
    dn = f"uid={uid},{slapd.PEOPLE}"
    admin = server.admin()
    try:
        assert admin.add(
            dn, ["inetOrgPerson"], {"cn": uid, "sn": uid, "uid": uid, "userPassword": OLD}
        ), admin.result
    finally:
        admin.unbind()
    user_id = f"{uid}@example.org"
    site.do("person", user_id=user_id, dn=dn, email=f"{uid}@mail.example")
    return user_id, dn


def _status(site: Site, wanted: str) -> dict:
    seen: list[str] = []

    def check() -> dict | None:
        answer = site.do("agents")
        seen.append(answer["status"])
        return answer if answer["status"] == wanted else None

    try:
        return wait_for(check, seconds=45)
    except AssertionError as exc:
        raise AssertionError(f"wanted {wanted}, saw {seen}") from exc


def test_enrol_then_sign_in_reset_change_and_unlock_through_the_agent(
    site, agents, directory_server, direct
):
    agents.enrol("north")
    agents.start("north")
    _status(site, "running")
    user_id, dn = _person(site, directory_server)

    assert site.do("signin", user_id=user_id, password=OLD)["outcomes"] == ["success"]
    assert site.do("signin", user_id=user_id, password="Not-the-password-1")["outcomes"] == [
        "invalid_credentials"
    ]

    assert site.do("flow", user_id=user_id, new=NEW) == {"state": "done"}
    assert direct.verify_password(dn, NEW) is True
    assert direct.verify_password(dn, OLD) is False

    # The directory's own refusal reaches the person: ppolicy keeps a password history.
    changed = site.do("change", user_id=user_id, old=NEW, new=OLD)
    assert changed["outcome"] == "directory_rejected"
    assert changed["directory"] == "password_in_history"
    third = "Meadow-Copper-Violin-58"
    assert site.do("change", user_id=user_id, old=NEW, new=third)["outcome"] == "changed"
    assert direct.verify_password(dn, third) is True

    other_id, other_dn = _person(site, directory_server)  # a new inbox: no send cooldown
    admin = directory_server.admin()
    try:
        admin.modify(other_dn, {"pwdAccountLockedTime": [(MODIFY_REPLACE, ["20260101000000Z"])]})
    finally:
        admin.unbind()
    assert direct.account_state(other_dn).locked is True
    assert site.do("flow", user_id=other_id, operation="unlock") == {"state": "done"}
    assert direct.account_state(other_dn).locked is False
    assert direct.verify_password(other_dn, OLD) is True  # unlocked, password kept

    jobs = site.do("agents")
    assert jobs["agents"]["north"]["done"] >= 6
    # Canary: no password crossed into the server's database or log.
    for secret in (OLD, NEW, third):
        assert secret not in site.log()
        assert secret not in _database_text(site)
        assert secret not in agents.log("north")


def _database_text(site: Site) -> str:
    """Every value of every table of the site's database, as text."""
    if site.database:
        tables = site.query("select tablename from pg_tables where schemaname = 'public'")
        return "\n".join(
            repr(row)
            for (table,) in tables
            for row in site.query(f'select * from "{table}"')  # noqa: S608 (catalogue names)
        )
    tables = site.query("select name from sqlite_master where type = 'table'")
    return "\n".join(
        repr(row)
        for (table,) in tables
        for row in site.query(f'select * from "{table}"')  # noqa: S608 (catalogue names)
    )


def test_a_job_expires_when_no_agent_takes_it_and_the_person_is_told(
    site, agents, directory_server
):
    agents.enrol("north")
    agents.start("north")
    _status(site, "running")
    user_id, _ = _person(site, directory_server)
    agents.kill("north")  # still within the window: jobs are queued, nobody takes them
    assert (
        site.do("change", user_id=user_id, old=OLD, new=NEW)["outcome"] == "directory_unavailable"
    )
    assert any(state == "expired" for _, state, _ in site.do("agents")["jobs"])
    # Past the window the agent counts as gone: refused at once, not after a wait.
    _status(site, "unreachable")
    assert site.do("signin", user_id=user_id, password=OLD)["outcomes"] == ["directory_unavailable"]
    agents.start("north")
    _status(site, "running")
    assert site.do("signin", user_id=user_id, password=OLD)["outcomes"] == ["success"]


def test_two_agents_share_the_work(site, agents, directory_server):
    for name in ("north", "south"):
        agents.enrol(name)
        agents.start(name)
    _status(site, "running")
    user_id, _ = _person(site, directory_server)
    outcomes = site.do("signin", user_id=user_id, password=OLD, times=16)["outcomes"]
    assert outcomes == ["success"] * 16
    counts = site.do("agents")["agents"]
    assert counts["north"]["done"] > 0 and counts["south"]["done"] > 0


def _history(server: slapd.Slapd, dn: str) -> int:
    """How many passwords ppolicy remembers for ``dn``: one more per password write."""
    admin = server.admin()
    try:
        admin.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["pwdHistory"])
        return len(admin.entries[0].entry_attributes_as_dict.get("pwdHistory", []))
    finally:
        admin.unbind()


def test_an_agent_that_dies_holding_a_write_never_makes_it_twice(
    site, agents, directory_server, direct, proxy
):
    """Both agents reach slapd through a proxy that holds each answer back, so north is
    frozen (SIGSTOP) while it holds the write: sent or not yet, we can't know, as in life. Once
    north's lease ran out south takes the job over, reads the password marker, and writes
    only if north's write never landed. The administrator gets one clear answer."""
    agents.enrol("north", port=proxy.port)
    agents.enrol("south", port=proxy.port)  # the same urls: a handed-on write stays pinned
    north = agents.start("north")
    _status(site, "running")
    user_id, dn = _person(site, directory_server)
    history = _history(directory_server, dn)
    proxy.delay = 0.4  # under the agent's 2 s directory timeout, even for a few round trips
    proxy.set_mode("slow")

    answer: dict = {}
    worker = threading.Thread(target=lambda: answer.update(site.do("temporary", user_id=user_id)))
    worker.start()
    wait_for(
        lambda: site.query(
            "select 1 from agents_agentjob where kind = 'reset' and state = 'leased'"
        ),
        seconds=60,
        every=0.005,
    )
    os.killpg(north.pid, signal.SIGSTOP)  # holding the write, its answer still on the way
    agents.start("south")
    worker.join(timeout=90)
    agents.kill("north")

    assert "password" in answer, answer
    assert answer["intents"] == ["applied"]
    assert direct.verify_password(dn, answer["password"]) is True
    assert _history(directory_server, dn) == history + 1  # written exactly once
    reset_jobs = site.query(
        "select state, attempts, result from agents_agentjob where kind = 'reset'"
    )
    # South finished it: it found north's write landed ("already"), or north froze before
    # its write went out and south made it. Either way the history grew by one, above.
    assert [(state, attempts) for state, attempts, _ in reset_jobs] == [("done", 2)]


def test_the_six_statuses_come_from_real_conditions(site, agents, directory_server):
    assert site.do("agents")["status"] == "misconfigured"  # no agent yet
    agents.enrol("north")
    agents.start("north")
    _status(site, "running")

    agents.kill("north")
    _status(site, "unreachable")
    agents.start("north")
    _status(site, "running")
    agents.kill("north")

    agents.start("north", prelude="import opensspr_agent; opensspr_agent.__version__ = '0.0.9'")
    seen = _status(site, "outdated")
    assert seen["agents"]["north"]["version"] == "0.0.9"
    agents.kill("north")

    agents.start("north", prelude="import opensspr_agent.runner as r; r.PROTOCOL = 0")
    _status(site, "too_old")
    agents.kill("north")

    agents.start("north")
    _status(site, "running")
    site.do("queue", away=True)
    try:
        _status(site, "server_problem")
    finally:
        site.do("queue", away=False)
    _status(site, "running")
    agents.kill("north")

    # A service account that can't bind (a DN that doesn't exist: wrong passwords for the
    # real one would lock it for every other test through ppolicy).
    agents.enrol("west", bind_dn=f"uid=nobody,{slapd.PEOPLE}")
    agents.start("west")
    wait_for(lambda: site.do("agents")["agents"].get("west", {}).get("status") == "misconfigured")
    _status(site, "misconfigured")
    assert "service account" in site.do("agents")["finding"]


def test_a_revoked_agent_is_refused_and_stops(site, agents):
    agents.enrol("north")
    process = agents.start("north")
    _status(site, "running")
    site.do("revoke", name="north")
    assert process.wait(timeout=WINDOW_SECONDS + 40) == 3
    assert "refused this agent's credential" in agents.log("north")
    agents.processes.pop("north")


def test_an_enrolment_token_works_once(site, agents: Agents):
    path = agents.enrol("north")
    token = site.do("token", name="again")["token"]
    first = agents.run_enrol(path, token, "--force")
    assert first.returncode == 0, first.stderr
    second = agents.run_enrol(path, token, "--force")
    assert second.returncode == 1
    assert "enrolment refused" in second.stderr


def test_sync_reads_the_directory_through_the_agent_in_parts(site, agents, directory_server):
    """120 people in their own OU, read in pages of 50: three parts over the agent."""
    ou = f"ou=synced{next(_serial)},{slapd.SUFFIX}"
    admin = directory_server.admin()
    try:
        assert admin.add(ou, ["organizationalUnit"], {"ou": ou.split(",", maxsplit=1)[0][3:]}), (
            admin.result
        )
        for n in range(120):
            uid = f"sync{n:03d}{ou[9 : ou.index(',')]}"
            assert admin.add(
                f"uid={uid},{ou}",
                ["inetOrgPerson"],
                {
                    "cn": uid,
                    "sn": "Synced",
                    "uid": uid,
                    "displayName": f"Synced {n}",
                    "mail": f"{uid}@mail.example",
                },
            ), admin.result
    finally:
        admin.unbind()
    agents.enrol("north")
    agents.start("north")
    _status(site, "running")
    site.do("scope", user_ous=ou)

    summary = site.do("sync", page=50)
    assert summary["users_created"] == 120, summary
    first = f"sync000{ou[9 : ou.index(',')]}"
    found = site.do("user", user_id=f"{first}@example.org")
    assert found == {
        "found": True,
        "source": "synced",
        "dn": f"uid={first},{ou}",
        "email": f"{first}@mail.example",
        "display_name": "Synced 0",
    }
    reads = [job for job in site.do("agents")["jobs"] if job[0] == "sync_read"]
    assert [state for _, state, _ in reads] == ["done"]
    assert reads[0][2] == {"value": {"parts": 3}}
    assert not site.query("select 1 from agents_agentjobpart")  # every part taken
