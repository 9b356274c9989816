"""The Active Directory connector against a real Samba AD DC (reset, change, unlock, state).

The DC is provisioned once per session (tests/directory/samba.py): domain policy
lockout 3, history 3, minimum length 8, complexity on, minimum age 0; the
``resetter`` service account holds only the writeback rights on OU=People.
"""

from collections.abc import Callable
from datetime import timedelta

import pytest
from ldap3 import MODIFY_ADD

from opensspr.directory.errors import (
    DirectoryAccountError,
    DirectoryCode,
    DirectoryConfigurationError,
    DirectoryLookupError,
    DirectoryRejectedError,
    DirectoryUnavailableError,
    ProtectedAccountError,
)
from opensspr.directory.ldap.active_directory import ActiveDirectory
from opensspr.directory.ldap.config import TlsMode
from tests.directory import samba
from tests.directory.proxy import TcpProxy

OLD = samba.INITIAL_PW
MakeUser = Callable[..., str]
MakeProxy = Callable[[int], TcpProxy]
PSO = f"CN=young,CN=Password Settings Container,CN=System,{samba.DOMAIN_DN}"
DAY = 864_000_000_000  # 100 ns units


@pytest.fixture(scope="session")
def young_pso(samba_dc: samba.SambaDc) -> str:
    """A fine-grained policy with a one-day minimum age, applied per test user."""
    admin = samba_dc.admin()
    try:
        attributes = {
            "msDS-PasswordSettingsPrecedence": "1",
            "msDS-PasswordReversibleEncryptionEnabled": "FALSE",
            "msDS-PasswordHistoryLength": "5",
            "msDS-PasswordComplexityEnabled": "TRUE",
            "msDS-MinimumPasswordLength": "10",
            "msDS-MinimumPasswordAge": str(-DAY),
            "msDS-MaximumPasswordAge": str(-42 * DAY),
            "msDS-LockoutThreshold": "3",
            "msDS-LockoutObservationWindow": str(-DAY // 48),
            "msDS-LockoutDuration": str(-DAY // 48),
        }
        assert admin.add(PSO, ["msDS-PasswordSettings"], attributes), admin.result
    finally:
        admin.unbind()
    return PSO


def _apply(samba_dc: samba.SambaDc, pso: str, dn: str) -> None:
    admin = samba_dc.admin()
    try:
        assert admin.modify(pso, {"msDS-PSOAppliesTo": [(MODIFY_ADD, [dn])]}), admin.result
    finally:
        admin.unbind()


def _connector(samba_dc: samba.SambaDc, **overrides: object) -> ActiveDirectory:
    config = samba.ad_connector_config(samba_dc, **overrides)
    return ActiveDirectory(config, policy_hints=samba_dc.supports_policy_hints)


def _lock(directory: ActiveDirectory, dn: str) -> None:
    outcomes: list[object] = []
    for _ in range(3):
        try:
            outcomes.append(directory.verify_password(dn, "Not-The-Passw0rd!"))
        except DirectoryAccountError as error:  # the third failure may already say 775
            outcomes.append(error.code)
    assert set(outcomes) <= {False, DirectoryCode.ACCOUNT_LOCKED}


def test_verify_password_binds_as_the_user(
    active_directory: ActiveDirectory, ad_user: MakeUser
) -> None:
    dn = ad_user()
    assert active_directory.verify_password(dn, OLD) is True
    assert active_directory.verify_password(dn, "Wrong-Passw0rd!") is False


def test_reset_sets_the_password_and_unlocks(
    active_directory: ActiveDirectory, ad_user: MakeUser
) -> None:
    dn = ad_user()
    _lock(active_directory, dn)
    assert active_directory.account_state(dn).locked is True
    with pytest.raises(DirectoryAccountError) as locked:
        active_directory.verify_password(dn, OLD)
    assert locked.value.code == DirectoryCode.ACCOUNT_LOCKED

    active_directory.set_password(dn, "Reset-Passw0rd-2", unlock=True)

    state = active_directory.account_state(dn)
    assert (state.locked, state.must_change) == (False, False)
    assert active_directory.verify_password(dn, "Reset-Passw0rd-2") is True


@pytest.mark.parametrize(
    ("new_password", "code"),
    [
        ("Ab1!", DirectoryCode.PASSWORD_TOO_SHORT),
        ("alllowercaseletters", DirectoryCode.PASSWORD_QUALITY),
        (OLD, DirectoryCode.PASSWORD_IN_HISTORY),  # the policy-hints control applies history
    ],
)
def test_reset_refused_by_the_domain_policy_keeps_the_entry(
    active_directory: ActiveDirectory,
    ad_user: MakeUser,
    samba_dc: samba.SambaDc,
    new_password: str,
    code: DirectoryCode,
) -> None:
    if code is DirectoryCode.PASSWORD_IN_HISTORY and not samba_dc.supports_policy_hints:
        pytest.skip("this Samba lacks the policy-hints control: a reset skips history")
    dn = ad_user()
    with pytest.raises(DirectoryRejectedError) as refused:
        active_directory.set_password(dn, new_password, unlock=True)
    assert refused.value.code == code
    assert new_password not in str(refused.value)
    assert active_directory.verify_password(dn, OLD) is True


def test_a_dc_without_policy_hints_refuses_resets_rather_than_skip_policy(
    samba_dc: samba.SambaDc, ad_user: MakeUser
) -> None:
    if samba_dc.supports_policy_hints:
        pytest.skip("this Samba supports the policy-hints control")
    dn = ad_user()
    strict = ActiveDirectory(samba.ad_connector_config(samba_dc))  # policy_hints=True
    try:
        with pytest.raises(DirectoryConfigurationError) as refused:
            strict.set_password(dn, "Reset-Passw0rd-2", unlock=True)
        assert refused.value.code == DirectoryCode.POLICY_CONTROL_UNSUPPORTED
        assert strict.verify_password(dn, OLD) is True
    finally:
        strict.close()


def test_reset_can_require_a_change_at_next_sign_in(
    active_directory: ActiveDirectory, ad_user: MakeUser
) -> None:
    dn = ad_user()
    active_directory.set_password(dn, "Temporary-Passw0rd-3", unlock=False, must_change=True)
    assert active_directory.account_state(dn).must_change is True  # pwdLastSet = 0
    with pytest.raises(DirectoryAccountError) as must_change:
        active_directory.verify_password(dn, "Temporary-Passw0rd-3")
    assert must_change.value.code == DirectoryCode.MUST_CHANGE_PASSWORD

    active_directory.change_password(dn, "Temporary-Passw0rd-3", "Own-Choice-Passw0rd-4")
    assert active_directory.account_state(dn).must_change is False
    assert active_directory.verify_password(dn, "Own-Choice-Passw0rd-4") is True


def test_change_is_delete_old_add_new_bound_as_the_user(
    active_directory: ActiveDirectory, ad_user: MakeUser
) -> None:
    dn = ad_user()
    active_directory.change_password(dn, OLD, "Changed-Passw0rd-5")
    assert active_directory.verify_password(dn, "Changed-Passw0rd-5") is True
    assert active_directory.verify_password(dn, OLD) is False


def test_change_with_a_wrong_old_password_is_refused(
    active_directory: ActiveDirectory, ad_user: MakeUser
) -> None:
    dn = ad_user()
    with pytest.raises(DirectoryAccountError) as wrong:
        active_directory.change_password(dn, "Not-The-Old-Passw0rd", "Changed-Passw0rd-5")
    assert wrong.value.code == DirectoryCode.WRONG_PASSWORD
    assert active_directory.verify_password(dn, OLD) is True


def test_change_back_to_a_recent_password_is_refused(
    active_directory: ActiveDirectory, ad_user: MakeUser
) -> None:
    dn = ad_user()
    active_directory.change_password(dn, OLD, "Changed-Passw0rd-5")
    with pytest.raises(DirectoryRejectedError) as refused:
        active_directory.change_password(dn, "Changed-Passw0rd-5", OLD)
    assert refused.value.code == DirectoryCode.PASSWORD_IN_HISTORY


def test_minimum_age_of_a_fine_grained_policy_refuses_a_second_change(
    active_directory: ActiveDirectory, ad_user: MakeUser, samba_dc: samba.SambaDc, young_pso: str
) -> None:
    dn = ad_user()
    _apply(samba_dc, young_pso, dn)
    with pytest.raises(DirectoryRejectedError) as refused:
        active_directory.change_password(dn, OLD, "Changed-Passw0rd-55")
    assert refused.value.code == DirectoryCode.PASSWORD_TOO_YOUNG
    assert active_directory.verify_password(dn, OLD) is True


def test_effective_policy_is_the_domains_or_the_users_fine_grained_one(
    active_directory: ActiveDirectory, ad_user: MakeUser, samba_dc: samba.SambaDc, young_pso: str
) -> None:
    domain = active_directory.password_policy(ad_user())
    assert (domain.min_length, domain.history, domain.complexity) == (8, 3, True)
    assert domain.min_age is None
    assert domain.lockout_threshold == 3
    assert domain.source == "domain"
    dn = ad_user()
    _apply(samba_dc, young_pso, dn)
    fine = active_directory.password_policy(dn)
    assert (fine.min_length, fine.history, fine.min_age) == (10, 5, timedelta(days=1))
    assert fine.source == f"pso:{young_pso}"


def test_unlock_writes_lockout_time_zero(
    active_directory: ActiveDirectory, ad_user: MakeUser
) -> None:
    dn = ad_user()
    _lock(active_directory, dn)
    active_directory.unlock(dn)
    assert active_directory.account_state(dn).locked is False
    assert active_directory.verify_password(dn, OLD) is True


def test_state_reads_the_computed_attributes(
    active_directory: ActiveDirectory, ad_user: MakeUser
) -> None:
    state = active_directory.account_state(ad_user())
    assert (state.locked, state.disabled, state.must_change, state.protected) == (
        False,
        False,
        False,
        False,
    )
    assert state.password_changed_at is not None
    assert state.password_expires_at == state.password_changed_at + timedelta(days=42)


def test_protected_accounts_are_refused_with_their_own_outcome(samba_dc: samba.SambaDc) -> None:
    whole_domain = _connector(samba_dc, user_base=samba.DOMAIN_DN)
    try:
        admin_dn = whole_domain.find_user("Administrator").dn
        assert whole_domain.account_state(admin_dn).protected is True
        with pytest.raises(ProtectedAccountError) as refused:
            whole_domain.set_password(admin_dn, "Taken-Over-Passw0rd-6", unlock=True)
        assert refused.value.code == DirectoryCode.PROTECTED_ACCOUNT
        with pytest.raises(ProtectedAccountError):
            whole_domain.unlock(admin_dn)
    finally:
        whole_domain.close()
    samba_dc.admin().unbind()  # Administrator's password is unchanged


def test_the_service_account_cannot_reset_outside_its_delegated_ou(
    samba_dc: samba.SambaDc, ad_user: MakeUser
) -> None:
    """Security-bar 13.2: rights on OU=People only, so a user in CN=Users is out of reach."""
    dn = ad_user(parent=f"CN=Users,{samba.DOMAIN_DN}")
    whole_domain = _connector(samba_dc, user_base=samba.DOMAIN_DN)
    try:
        with pytest.raises(DirectoryConfigurationError) as refused:
            whole_domain.set_password(dn, "Reset-Passw0rd-7", unlock=True)
        assert refused.value.code == DirectoryCode.PERMISSION_DENIED
        assert whole_domain.verify_password(dn, OLD) is True
    finally:
        whole_domain.close()


def test_two_matches_are_their_own_error(samba_dc: samba.SambaDc, ad_user: MakeUser) -> None:
    ad_user(mail="twin@example.test")
    ad_user(mail="twin@example.test")
    by_mail = _connector(samba_dc, user_id_attribute="mail")
    try:
        with pytest.raises(DirectoryLookupError) as twins:
            by_mail.find_user("twin@example.test")
        assert twins.value.code == DirectoryCode.MULTIPLE_MATCHES
    finally:
        by_mail.close()


@pytest.mark.parametrize("user_id", ["*", "aduser*", "*)(sAMAccountName=*", "x)(|(cn=*"])
def test_injection_in_the_user_id_finds_nobody(
    active_directory: ActiveDirectory, ad_user: MakeUser, user_id: str
) -> None:
    ad_user()
    with pytest.raises(DirectoryLookupError) as missing:
        active_directory.find_user(user_id)
    assert missing.value.code == DirectoryCode.USER_NOT_FOUND


def test_starttls_on_389_works_too(samba_dc: samba.SambaDc, ad_user: MakeUser) -> None:
    dn = ad_user()
    directory = _connector(samba_dc, tls=TlsMode.STARTTLS, port=389)
    try:
        assert directory.verify_password(dn, OLD) is True
    finally:
        directory.close()


def test_a_certificate_for_another_name_is_refused(samba_dc: samba.SambaDc) -> None:
    directory = _connector(samba_dc, server_name="dc9.example.test")
    with pytest.raises(DirectoryUnavailableError) as refused:
        directory.find_user("Administrator")
    assert refused.value.code == DirectoryCode.TLS_FAILURE


def test_a_dc_that_goes_down_gives_a_typed_error_and_recovers(
    samba_dc: samba.SambaDc, ad_user: MakeUser, proxy_to: MakeProxy
) -> None:
    dn = ad_user()
    proxy = proxy_to(636)
    directory = _connector(samba_dc, port=proxy.port)
    try:
        directory.find_user(dn.split(",")[0].removeprefix("CN="))
        proxy.set_mode("refuse")
        with pytest.raises(DirectoryUnavailableError):
            directory.set_password(dn, "Never-Written-Passw0rd", unlock=True)
        proxy.set_mode("pass")
        assert directory.verify_password(dn, OLD) is True
    finally:
        directory.close()


def test_a_hung_dc_times_out_with_nothing_written(
    samba_dc: samba.SambaDc,
    ad_user: MakeUser,
    proxy_to: MakeProxy,
    active_directory: ActiveDirectory,
) -> None:
    dn = ad_user()
    proxy = proxy_to(636)
    directory = _connector(samba_dc, port=proxy.port, operation_timeout=1)
    try:
        directory.find_user(dn.split(",")[0].removeprefix("CN="))
        proxy.set_mode("stall")
        with pytest.raises(DirectoryUnavailableError) as slow:
            directory.set_password(dn, "Never-Written-Passw0rd", unlock=True)
        assert slow.value.code == DirectoryCode.UNAVAILABLE
    finally:
        directory.close()
        proxy.set_mode("refuse")
    assert active_directory.verify_password(dn, OLD) is True
