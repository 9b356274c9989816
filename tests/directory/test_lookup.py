"""A lookup matches exactly one entry, and a user ID can never widen the filter (A13)."""

from collections.abc import Callable

import pytest

from opensspr.directory.errors import DirectoryCode, DirectoryLookupError
from opensspr.directory.ldap.common import user_filter
from opensspr.directory.ldap.config import LdapConfig, TlsMode
from opensspr.directory.ldap.openldap import OpenLdapDirectory
from tests.directory import slapd
from tests.directory.slapd import openldap_config

MakeUser = Callable[..., str]
STUB = LdapConfig(
    host="127.0.0.1",
    port=1,
    tls=TlsMode.LDAPS,
    bind_dn="cn=x",
    bind_password="x",
    user_base="ou=people,dc=example,dc=org",
)

INJECTIONS = [
    "*",
    "a*",
    "*)(objectClass=*",
    "admin)(|(uid=*",
    "x)(\x00",
    "\\",
    "(",
    ")",
    "\x00",
    ',+"\\<>;=#',
    "lookup-target*",
    "lookup-target)(uid=*",
    "*lookup-target",
    "x" * 10_000,
    "lооkup-target",  # Cyrillic o: a look-alike, not the same person
]


def test_finds_exactly_the_one_entry(openldap: OpenLdapDirectory, ldap_user: MakeUser) -> None:
    dn = ldap_user(uid="lookup-exact")
    found = openldap.find_user("lookup-exact")
    assert (found.dn, found.user_id) == (dn, "lookup-exact")


def test_matching_follows_the_directorys_own_normalisation(
    openldap: OpenLdapDirectory, ldap_user: MakeUser
) -> None:
    """uid matching ignores case and outer spaces in LDAP: still that one entry, never another."""
    dn = ldap_user(uid="lookup-case")
    assert openldap.find_user(" LOOKUP-Case ").dn == dn


def test_unknown_user_is_not_found(openldap: OpenLdapDirectory) -> None:
    with pytest.raises(DirectoryLookupError) as missing:
        openldap.find_user("nobody-here")
    assert missing.value.code == DirectoryCode.USER_NOT_FOUND


@pytest.mark.parametrize("user_id", INJECTIONS, ids=range(len(INJECTIONS)))
def test_injection_in_the_user_id_finds_nobody(
    openldap: OpenLdapDirectory, ldap_user: MakeUser, user_id: str
) -> None:
    if not _exists(openldap, "lookup-target"):
        ldap_user(uid="lookup-target")
    with pytest.raises(DirectoryLookupError) as missing:
        openldap.find_user(user_id)
    assert missing.value.code == DirectoryCode.USER_NOT_FOUND


def test_the_filter_carries_every_special_character_escaped() -> None:
    built = user_filter(STUB, "*)(uid=*\\\x00")
    assert built == "(&(objectClass=inetOrgPerson)(uid=\\2a\\29\\28uid=\\2a\\5c\\00))"


def test_two_matches_are_their_own_error(slapd_server: slapd.Slapd, ldap_user: MakeUser) -> None:
    admin = slapd_server.admin()
    for uid in ("twin-a", "twin-b", "twin-c"):  # three: the size limit (2) cuts the answer
        dn = f"uid={uid},{slapd.PEOPLE}"
        attributes = {"cn": uid, "sn": uid, "uid": uid, "mail": "twin@example.org"}
        assert admin.add(dn, ["inetOrgPerson"], attributes), admin.result
    admin.unbind()
    by_mail = OpenLdapDirectory(openldap_config(slapd_server, user_id_attribute="mail"))
    try:
        with pytest.raises(DirectoryLookupError) as twins:
            by_mail.find_user("twin@example.org")
        assert twins.value.code == DirectoryCode.MULTIPLE_MATCHES
    finally:
        by_mail.close()


def test_only_allow_listed_attributes_identify_people(slapd_server: slapd.Slapd) -> None:
    with pytest.raises(ValueError, match="user_id_attribute"):
        openldap_config(slapd_server, user_id_attribute="userPassword")


def _exists(directory: OpenLdapDirectory, uid: str) -> bool:
    try:
        directory.find_user(uid)
    except DirectoryLookupError:
        return False
    return True
