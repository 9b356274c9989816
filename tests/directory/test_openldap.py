"""The OpenLDAP connector against a real slapd with ppolicy (reset, change, unlock, state).

Every refusal is checked twice: the stable code, and that the directory entry
is unchanged (the old password still binds).
"""

from collections.abc import Callable
from datetime import timedelta

import pytest

from opensspr.directory.errors import (
    DirectoryAccountError,
    DirectoryCode,
    DirectoryRejectedError,
)
from opensspr.directory.ldap.openldap import OpenLdapDirectory

OLD = "Initial-Pass-1"
MakeUser = Callable[..., str]


def _lock(directory: OpenLdapDirectory, dn: str) -> None:
    for _ in range(3):  # pwdMaxFailure 3
        assert directory.verify_password(dn, "not-the-password") is False


def test_verify_password_binds_as_the_user(
    openldap: OpenLdapDirectory, ldap_user: MakeUser
) -> None:
    dn = ldap_user()
    assert openldap.verify_password(dn, OLD) is True
    assert openldap.verify_password(dn, "Wrong-Pass-9") is False
    assert openldap.verify_password(dn, "") is False  # never an unauthenticated bind


def test_verify_password_reports_a_locked_account(
    openldap: OpenLdapDirectory, ldap_user: MakeUser
) -> None:
    dn = ldap_user()
    _lock(openldap, dn)
    with pytest.raises(DirectoryAccountError) as locked:
        openldap.verify_password(dn, OLD)
    assert locked.value.code == DirectoryCode.ACCOUNT_LOCKED


def test_reset_sets_the_password_and_unlocks(
    openldap: OpenLdapDirectory, ldap_user: MakeUser
) -> None:
    dn = ldap_user()
    _lock(openldap, dn)
    assert openldap.account_state(dn).locked is True

    openldap.set_password(dn, "Reset-Pass-22", unlock=True)

    assert openldap.account_state(dn).locked is False
    assert openldap.verify_password(dn, "Reset-Pass-22") is True
    assert openldap.verify_password(dn, OLD) is False


@pytest.mark.parametrize(
    ("new_password", "code"),
    [
        ("short", DirectoryCode.PASSWORD_TOO_SHORT),
        (OLD, DirectoryCode.PASSWORD_IN_HISTORY),
        # A value that looks pre-hashed can't be quality-checked: ppolicy refuses it (quality 2).
        ("{SSHA}c29tZXRoaW5nLWhhc2hlZA==", DirectoryCode.PASSWORD_QUALITY),
    ],
)
def test_reset_refused_by_ppolicy_keeps_the_entry(
    openldap: OpenLdapDirectory, ldap_user: MakeUser, new_password: str, code: DirectoryCode
) -> None:
    dn = ldap_user()
    with pytest.raises(DirectoryRejectedError) as refused:
        openldap.set_password(dn, new_password, unlock=True)
    assert refused.value.code == code
    assert new_password not in str(refused.value)
    assert openldap.verify_password(dn, OLD) is True


def test_reset_can_require_a_change_at_next_sign_in(
    openldap: OpenLdapDirectory, ldap_user: MakeUser
) -> None:
    dn = ldap_user()
    openldap.set_password(dn, "Temporary-Pass-3", unlock=False, must_change=True)
    assert openldap.account_state(dn).must_change is True
    openldap.set_password(dn, "Own-Choice-Pass-4", unlock=False)
    assert openldap.account_state(dn).must_change is False


def test_verify_password_tells_a_password_that_must_change(
    openldap: OpenLdapDirectory, ldap_user: MakeUser
) -> None:
    dn = ldap_user(policy="mustchange")
    openldap.set_password(dn, "Temporary-Pass-3", unlock=False, must_change=True)
    with pytest.raises(DirectoryAccountError) as must_change:
        openldap.verify_password(dn, "Temporary-Pass-3")
    assert must_change.value.code == DirectoryCode.MUST_CHANGE_PASSWORD


def test_change_bound_as_the_user(openldap: OpenLdapDirectory, ldap_user: MakeUser) -> None:
    dn = ldap_user()
    openldap.change_password(dn, OLD, "Changed-Pass-5")
    assert openldap.verify_password(dn, "Changed-Pass-5") is True
    assert openldap.verify_password(dn, OLD) is False


def test_change_with_a_wrong_old_password_is_refused(
    openldap: OpenLdapDirectory, ldap_user: MakeUser
) -> None:
    dn = ldap_user()
    with pytest.raises(DirectoryAccountError) as wrong:
        openldap.change_password(dn, "Not-The-Old-1", "Changed-Pass-5")
    assert wrong.value.code == DirectoryCode.WRONG_PASSWORD
    assert openldap.verify_password(dn, OLD) is True


def test_wrong_old_passwords_count_towards_lockout(
    openldap: OpenLdapDirectory, ldap_user: MakeUser
) -> None:
    """The change binds first, so the directory counts the failures (an exop alone wouldn't)."""
    dn = ldap_user()
    for _ in range(3):
        with pytest.raises(DirectoryAccountError):
            openldap.change_password(dn, "Not-The-Old-1", "Changed-Pass-5")
    assert openldap.account_state(dn).locked is True
    with pytest.raises(DirectoryAccountError) as locked:
        openldap.change_password(dn, OLD, "Changed-Pass-5")
    assert locked.value.code == DirectoryCode.ACCOUNT_LOCKED


@pytest.mark.parametrize(
    ("policy", "new_password", "code"),
    [
        (None, "short", DirectoryCode.PASSWORD_TOO_SHORT),
        (None, OLD, DirectoryCode.PASSWORD_IN_HISTORY),
        ("aged", "Changed-Pass-5", DirectoryCode.PASSWORD_TOO_YOUNG),
        ("nochange", "Changed-Pass-5", DirectoryCode.CHANGE_NOT_ALLOWED),
    ],
)
def test_change_refused_by_ppolicy(
    openldap: OpenLdapDirectory,
    ldap_user: MakeUser,
    policy: str | None,
    new_password: str,
    code: DirectoryCode,
) -> None:
    dn = ldap_user(policy=policy)
    with pytest.raises(DirectoryRejectedError) as refused:
        openldap.change_password(dn, OLD, new_password)
    assert refused.value.code == code
    assert openldap.verify_password(dn, OLD) is True


def test_unlock_removes_the_lock_and_nothing_else(
    openldap: OpenLdapDirectory, ldap_user: MakeUser
) -> None:
    dn = ldap_user()
    _lock(openldap, dn)
    openldap.unlock(dn)
    assert openldap.account_state(dn).locked is False
    assert openldap.verify_password(dn, OLD) is True
    openldap.unlock(dn)  # unlocking an unlocked account is a no-op


def test_state_reads_expiry_from_pwd_changed_time_and_max_age(
    openldap: OpenLdapDirectory, ldap_user: MakeUser
) -> None:
    dn = ldap_user(policy="aged")
    state = openldap.account_state(dn)
    assert state.password_changed_at is not None
    assert state.password_expires_at == state.password_changed_at + timedelta(days=1)
    assert state.password_expired is False
    later = openldap.account_state(dn, now=state.password_changed_at + timedelta(days=2))
    assert later.password_expired is True
    assert (state.locked, state.disabled, state.must_change) == (False, False, False)


def test_state_without_max_age_never_expires(
    openldap: OpenLdapDirectory, ldap_user: MakeUser
) -> None:
    state = openldap.account_state(ldap_user())
    assert state.password_expires_at is None
    assert state.password_expired is False


def test_effective_policy_comes_from_the_users_subentry_or_the_default(
    openldap: OpenLdapDirectory, ldap_user: MakeUser
) -> None:
    default = openldap.password_policy(ldap_user())
    assert (default.min_length, default.history, default.lockout_threshold) == (8, 3, 3)
    assert default.min_age is None
    assert default.source.startswith("ppolicy:cn=default")
    aged = openldap.password_policy(ldap_user(policy="aged"))
    assert aged.min_age == timedelta(hours=1)
    assert aged.max_age == timedelta(days=1)
    assert aged.source.startswith("ppolicy:cn=aged")


def test_health_is_healthy_while_the_service_account_can_read(openldap: OpenLdapDirectory) -> None:
    assert openldap.check_health().state == "healthy"


def test_the_password_marker_moves_with_every_write_even_in_the_same_second(
    openldap: OpenLdapDirectory, ldap_user: MakeUser
) -> None:
    """The reconciler's evidence: pwdChangedTime has whole seconds, the salted hash doesn't."""
    dn = ldap_user()
    markers = [openldap.password_marker(dn)]
    for password in ("First-New-Pass-1", "Second-New-Pass-2", "Third-New-Pass-3"):
        openldap.set_password(dn, password, unlock=False)
        markers.append(openldap.password_marker(dn))
    assert len(set(markers)) == len(markers), markers
    assert all(marker and "Pass" not in marker for marker in markers)  # a digest, no secret
