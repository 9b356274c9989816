"""The agent refuses jobs outside its own configuration, whoever sends them."""

import pytest

from opensspr.directory.jobs import JobKind
from opensspr_agent.scope import refusal, under

BASE = "dc=example,dc=org"


@pytest.mark.parametrize(
    ("dn", "inside"),
    [
        ("uid=jan,ou=people,dc=example,dc=org", True),
        ("UID=Jan, OU=People, DC=Example, DC=Org", True),  # case and spaces don't matter
        ("dc=example,dc=org", True),
        ("uid=jan,ou=people,dc=other,dc=org", False),
        ("uid=jan,ou=people,dc=notexample,dc=org", False),  # a suffix of a name is not under it
        ("", False),
    ],
)
def test_entries_must_lie_under_the_configured_base(dn, inside):
    assert under(dn, BASE) is inside
    assert (refusal(JobKind.RESET, {"dn": dn}, BASE) == "") is inside


def test_a_sync_read_never_asks_for_secrets_or_outside_the_base():
    ok = {"base": f"ou=people,{BASE}", "filter": "(uid=*)", "attributes": ["uid", "mail"]}
    assert refusal(JobKind.SYNC_READ, ok, BASE) == ""
    for attributes in (["uid", "userPassword"], ["unicodePwd"], ["ms-Mcs-AdmPwd"], ["*"]):
        assert refusal(JobKind.SYNC_READ, {**ok, "attributes": attributes}, BASE)
    assert refusal(JobKind.SYNC_READ, {**ok, "base": "dc=other,dc=org"}, BASE)
    assert refusal(JobKind.SYNC_MARK, {"base": "dc=other,dc=org"}, BASE)
    assert refusal(JobKind.PROBE, {}, BASE) == ""
