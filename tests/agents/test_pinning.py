"""An agent runs a job pinned to one of the directory's servers there, or not at all (F5).

The agent's half, against the session's real slapd: a job naming a server this
agent doesn't list is refused as unreachable, never run on a server of the
agent's own, which could be a replica without the write. A first write or a
read says nothing was written; a write handed on from a vanished agent says it
may have been, for the reconciler to settle.
"""

import pytest

from opensspr.directory.errors import DirectoryCode
from opensspr.directory.jobs import JobKind, execute
from opensspr.directory.ldap.failover import Failover, build
from tests.directory import slapd

pytestmark = pytest.mark.skipif(
    not slapd.SLAPD.exists(), reason="slapd is not installed (./dev test installs it)"
)
ELSEWHERE = "192.0.2.7:389"  # a server some other agent lists


@pytest.fixture
def agent_directory(slapd_server):
    directory = Failover(
        build("openldap", [slapd.openldap_config(slapd_server)], policy_hints=False)
    )
    try:
        yield directory
    finally:
        directory.close()


@pytest.fixture
def dn(slapd_server):
    dn = f"uid=pinned,{slapd.PEOPLE}"
    admin = slapd_server.admin()
    try:
        admin.delete(dn)
        attributes = {"cn": "pinned", "sn": "pinned", "uid": "pinned", "userPassword": "Old-1x"}
        assert admin.add(dn, ["inetOrgPerson"], attributes), admin.result
    finally:
        admin.unbind()
    return dn


def _job(kind: JobKind, **payload):
    return {"id": "j1", "kind": kind, "payload": payload}


def _never(field: str) -> str:
    raise AssertionError(f"a refused job opened its {field}")


def test_a_marker_asked_where_names_the_server_and_a_pinned_read_runs_there(
    agent_directory, dn, slapd_server
):
    here = f"127.0.0.1:{slapd_server.ldap_port}"
    answer = execute(agent_directory, _job(JobKind.MARKER, dn=dn, where=True), _never)
    assert answer["value"]["server"] == here
    pinned = execute(agent_directory, _job(JobKind.MARKER, dn=dn, server=here), _never)
    assert pinned == {"value": answer["value"]["marker"]}


@pytest.mark.parametrize(
    ("kind", "attempt", "maybe_written"),
    [
        (JobKind.MARKER, 1, False),  # a read reached nothing
        (JobKind.RESET, 1, False),  # nobody wrote yet: the person may simply try again
        (JobKind.RESET, 2, True),  # the vanished agent may have: the reconciler decides
    ],
)
def test_a_job_pinned_to_a_server_this_agent_doesnt_list_is_refused(
    agent_directory, dn, kind, attempt, maybe_written
):
    job = _job(kind, dn=dn, server=ELSEWHERE, attempt=attempt, guard={"marker": "", "known": False})
    answer = execute(agent_directory, job, _never)
    assert answer["error"]["code"] == DirectoryCode.UNAVAILABLE
    assert answer["error"]["maybe_written"] is maybe_written
