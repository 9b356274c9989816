"""Connection settings refuse what would weaken a lookup, and never show the bind password."""

import pytest

from opensspr.directory.ldap.active_directory import ad_config
from opensspr.directory.ldap.config import LdapConfig, TlsMode

BASE = {
    "host": "ldap.example.org",
    "port": 389,
    "tls": TlsMode.STARTTLS,
    "bind_dn": "cn=opensspr,dc=example,dc=org",
    "bind_password": "Service-Secret-1",
    "user_base": "ou=people,dc=example,dc=org",
}


def test_the_bind_password_is_not_in_the_repr() -> None:
    assert "Service-Secret-1" not in repr(LdapConfig(**BASE))


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ({"user_id_attribute": "userPassword"}, "user_id_attribute"),
        ({"user_object_filter": "objectClass=person"}, "user_object_filter"),
        ({"operation_timeout": 0}, "timeouts"),
        ({"connect_timeout": -1}, "timeouts"),
        ({"pool_size": 0}, "pool_size"),
    ],
)
def test_unsafe_or_impossible_settings_are_refused(override: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        LdapConfig(**(BASE | override))


def test_there_is_no_plaintext_transport() -> None:
    assert {mode.value for mode in TlsMode} == {"ldaps", "starttls"}


def test_ad_defaults_look_people_up_by_sam_account_name() -> None:
    config = ad_config(**BASE)
    assert config.user_id_attribute == "sAMAccountName"
    assert config.user_object_filter == "(&(objectCategory=person)(objectClass=user))"
