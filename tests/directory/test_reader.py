"""Sync's paged read decodes entries its own way (raw values only): the same values as
ldap3's, and the connection is ldap3's own again once the read is over."""

from ldap3 import SUBTREE

from opensspr.directory.ldap.openldap import OpenLdapDirectory
from opensspr.directory.ldap.reader import paged_search
from tests.directory import slapd

WANTED = ["uid", "cn", "sn", "objectClass", "entryUUID", "modifyTimestamp"]


def test_a_paged_read_gives_ldap3s_raw_values_and_leaves_the_connection_as_it_was(
    openldap: OpenLdapDirectory, ldap_user
):
    dns = {ldap_user().lower(), ldap_user().lower()}
    with openldap.pool.connection() as connection:
        read = {
            entry.dn.lower(): entry.attributes
            for entry in paged_search(connection, slapd.PEOPLE, "(uid=*)", WANTED, page_size=1)
        }
        assert connection.search(slapd.PEOPLE, "(uid=*)", SUBTREE, attributes=WANTED)
        stock = {
            item["dn"].lower(): item
            for item in connection.response
            if item.get("type") == "searchResEntry"
        }
    assert dns <= set(read)
    assert set(read) == set(stock)
    for dn, attributes in read.items():
        raw = stock[dn]["raw_attributes"]
        assert attributes == {name.lower(): list(values) for name, values in raw.items()}
    # Afterwards the connection decodes as ldap3 does: the text copy is back.
    some = stock[next(iter(dns))]
    assert some["attributes"]["uid"] == [some["raw_attributes"]["uid"][0].decode()]
