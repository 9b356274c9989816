"""Synced people against a real slapd with ppolicy: sign-in, reset, change, forced change,
unlock, the console's temporary password, and the crash-safe writeback (intent + reconciler).

Every write goes through the services the portal and the API call; the directory is
asked afterwards, as the person's own bind, whether the password really changed.
"""

import functools
import re
from collections.abc import Callable, Iterator

import pytest
from ldap3 import MODIFY_REPLACE

from opensspr.audit.models import AuditEvent
from opensspr.core.crypto import seal
from opensspr.directory import models as directory_models
from opensspr.directory import onprem, writeback
from opensspr.directory.ldap.config import LdapConfig
from opensspr.directory.ldap.openldap import OpenLdapDirectory
from opensspr.directory.messages import policy_lines
from opensspr.directory.models import DirectorySettings, IntentState, WritebackIntent
from opensspr.directory.onprem import password_policy_of
from opensspr.policy.kinds import MethodKind as K
from opensspr.resets.admin_reset import issue_temporary_password
from opensspr.resets.flow import (
    FlowError,
    PasswordRejectedError,
    begin_verification,
    choose_operation,
    get_flow,
    set_new_password,
    start_flow,
    submit_verification,
)
from opensspr.resets.models import FlowState, Operation, ResetFlow
from opensspr.signin.change import ChangeOutcome, change_password
from opensspr.signin.services import ChangeReason, SignInOutcome, sign_in
from tests.conftest import delivered, open_reset_policy
from tests.directory import slapd
from tests.directory.proxy import TcpProxy
from tests.throttles.stored import count_uses

pytestmark = pytest.mark.django_db
OLD = "Initial-Pass-1"
NEW = "Lantern-Harbour-Quiet-93"
EMAIL = "jan@mail.example"
_serial = iter(range(1, 100_000))


@pytest.fixture
def proxy(slapd_server: slapd.Slapd) -> Iterator[TcpProxy]:
    """Every test reaches slapd through a proxy it may cut, stall or mute."""
    proxy = TcpProxy("127.0.0.1", slapd_server.ldap_port)
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture(autouse=True)
def configured(slapd_server: slapd.Slapd, proxy: TcpProxy, monkeypatch) -> Iterator[None]:
    # Short timeouts, so a stalled or muted directory costs a second, not ten.
    monkeypatch.setattr(
        directory_models,
        "LdapConfig",
        functools.partial(LdapConfig, connect_timeout=1.0, operation_timeout=1),
    )
    DirectorySettings.objects.create(
        pk=1,
        urls=f"ldap://127.0.0.1:{proxy.port}",
        tls_mode="starttls",
        ca_certificate=slapd_server.tls.ca_file.read_text(),
        server_name=slapd.SERVER_NAME,
        bind_dn=slapd.RESETTER_DN,
        bind_password_sealed=seal(slapd.RESETTER_PW),
        base_dn=slapd.SUFFIX,
        ppolicy_default_dn=f"cn=default,{slapd.POLICIES}",
    )
    open_reset_policy(writeback_enabled=True)
    try:
        yield
    finally:
        onprem._connectors.reset()


@pytest.fixture
def direct(slapd_server: slapd.Slapd) -> Iterator[OpenLdapDirectory]:
    """The directory as the test sees it, not through the proxy."""
    directory = OpenLdapDirectory(slapd.openldap_config(slapd_server))
    try:
        yield directory
    finally:
        directory.close()


@pytest.fixture
def jan(slapd_server: slapd.Slapd, user_factory) -> Callable[..., object]:
    """A person in slapd and synced here (what ``opensspr sync`` makes), with an email method."""
    uid = f"jan{next(_serial)}"
    dn = f"uid={uid},{slapd.PEOPLE}"
    admin = slapd_server.admin()
    try:
        assert admin.add(
            dn, ["inetOrgPerson"], {"cn": uid, "sn": uid, "uid": uid, "userPassword": OLD}
        ), admin.result
    finally:
        admin.unbind()
    return user_factory(
        f"{uid}@example.org",
        source="synced",
        on_premises_dn=dn,
        auth_email=EMAIL,
        password=None,
    )


def _code() -> str:
    body = delivered(recipient=EMAIL).order_by("-id").first().plaintext_body()
    return re.search(r"\b(\d{6,8})\b", body).group(1)


def _verified(user, meta):
    view = start_flow(identifier=user.user_id, meta=meta)
    view = choose_operation(handle=view.handle, operation=Operation.RESET, meta=meta)
    view = begin_verification(handle=view.handle, kind=K.EMAIL, contact=EMAIL, meta=meta)
    view = submit_verification(handle=view.handle, answer=_code(), meta=meta)
    assert view.state == FlowState.NEW_PASSWORD
    return view


def _activities(user) -> list[tuple[str, str]]:
    return list(
        AuditEvent.objects.filter(target=user).order_by("id").values_list("activity", "reason")
    )


def _notifications() -> int:
    return delivered(recipient=EMAIL).filter(purpose="reset.notification").count()


# Sign-in ------------------------------------------------------------------------------


def test_sign_in_checks_the_password_with_the_directory(jan, meta):
    assert sign_in(identifier=jan.user_id, password=OLD, meta=meta).outcome == (
        SignInOutcome.SUCCESS
    )
    wrong = sign_in(identifier=jan.user_id, password="Not-It-At-All-1", meta=meta)
    assert wrong.outcome == SignInOutcome.INVALID


def test_sign_in_with_a_directory_reset_password_must_change_it(jan, meta, direct):
    direct.set_password(jan.on_premises_dn, "Temporary-Pass-3", unlock=True, must_change=True)
    # ppolicy says "must change" only with pwdMustChange on the entry's policy; the
    # default policy leaves it off, so pwdReset alone lets the bind through.
    result = sign_in(identifier=jan.user_id, password="Temporary-Pass-3", meta=meta)
    assert result.outcome in (SignInOutcome.SUCCESS, SignInOutcome.CHANGE_REQUIRED)


def test_sign_in_while_the_directory_is_down_says_so_and_counts_nothing(jan, meta, proxy):
    proxy.set_mode("refuse")
    for _ in range(12):  # above the smart-lockout threshold
        result = sign_in(identifier=jan.user_id, password=OLD, meta=meta)
        assert result.outcome == SignInOutcome.UNAVAILABLE
    proxy.set_mode("pass")
    assert sign_in(identifier=jan.user_id, password=OLD, meta=meta).outcome == (
        SignInOutcome.SUCCESS
    )


# Reset --------------------------------------------------------------------------------


def test_a_reset_is_written_to_the_directory_then_audited_and_notified_once(
    jan, meta, clock, direct
):
    view = _verified(jan, meta)
    before = direct.password_marker(jan.on_premises_dn)
    view = set_new_password(handle=view.handle, new_password=NEW, meta=meta)
    assert view.state == FlowState.DONE
    assert direct.verify_password(jan.on_premises_dn, NEW) is True
    assert direct.verify_password(jan.on_premises_dn, OLD) is False
    assert direct.password_marker(jan.on_premises_dn) != before
    intent = WritebackIntent.objects.get(user=jan)
    assert (intent.purpose, intent.state) == ("reset", IntentState.APPLIED)
    assert ("reset.completed", "") in _activities(jan)
    assert _notifications() == 1
    assert sign_in(identifier=jan.user_id, password=NEW, meta=meta).outcome == (
        SignInOutcome.SUCCESS
    )


def test_a_reset_also_unlocks_the_directory_account(jan, meta, slapd_server, direct):
    admin = slapd_server.admin()
    admin.modify(
        jan.on_premises_dn, {"pwdAccountLockedTime": [(MODIFY_REPLACE, ["20260101000000Z"])]}
    )
    admin.unbind()
    assert direct.account_state(jan.on_premises_dn).locked
    set_new_password(handle=_verified(jan, meta).handle, new_password=NEW, meta=meta)
    assert not direct.account_state(jan.on_premises_dn).locked


@pytest.mark.parametrize(
    ("password", "code"),
    [(OLD, "directory:password_in_history")],
)
def test_a_directory_refusal_keeps_the_person_on_the_new_password_step(
    jan, meta, direct, password, code
):
    view = _verified(jan, meta)
    with pytest.raises(PasswordRejectedError) as refused:
        set_new_password(handle=view.handle, new_password=password, meta=meta)
    assert refused.value.code == code
    assert refused.value.view.state == FlowState.NEW_PASSWORD
    assert direct.verify_password(jan.on_premises_dn, OLD) is True
    assert ("reset.password_rejected", code) in _activities(jan)
    assert _notifications() == 0
    intent = WritebackIntent.objects.get(user=jan)
    assert intent.state == IntentState.NOT_APPLIED
    # The person chooses another password on the same page, and it goes through.
    view = set_new_password(handle=refused.value.view.handle, new_password=NEW, meta=meta)
    assert view.state == FlowState.DONE
    assert _notifications() == 1


def test_a_directory_that_is_down_changes_nothing_and_the_person_can_try_again(
    jan, meta, direct, proxy
):
    view = _verified(jan, meta)
    proxy.set_mode("refuse")
    onprem._connectors.reset()  # no pooled session: the connect itself fails
    with pytest.raises(FlowError) as down:
        set_new_password(handle=view.handle, new_password=NEW, meta=meta)
    assert down.value.code == "directory_unavailable"
    assert direct.verify_password(jan.on_premises_dn, OLD) is True
    assert get_flow(handle=view.handle).state == FlowState.NEW_PASSWORD
    assert _notifications() == 0
    proxy.set_mode("pass")
    onprem._connectors.reset()  # forget the cached "down" (kept 5 s in service)
    assert set_new_password(handle=view.handle, new_password=NEW, meta=meta).state == (
        FlowState.DONE
    )
    assert direct.verify_password(jan.on_premises_dn, NEW) is True


def test_a_lost_answer_is_settled_by_reading_the_directory_never_by_writing_again(
    jan, meta, direct, proxy
):
    """F3/F4: slapd applied the reset but its answer was lost. The person's retry must not
    write again (that would fail as "in history"); the marker shows the write landed."""
    view = _verified(jan, meta)
    set_new_password_calls = []
    original = OpenLdapDirectory.set_password

    def counted(self, *args, **kwargs):
        set_new_password_calls.append(args[0])
        proxy.set_mode("mute")  # the answer to this write is lost, and so is the next read
        return original(self, *args, **kwargs)

    OpenLdapDirectory.set_password = counted
    try:
        with pytest.raises(FlowError) as lost:
            set_new_password(handle=view.handle, new_password=NEW, meta=meta)
        assert lost.value.code == "directory_unavailable"
        assert direct.verify_password(jan.on_premises_dn, NEW) is True  # it did land
        flow = ResetFlow.objects.get(user=jan)
        assert flow.state == FlowState.WRITING
        assert _notifications() == 0
        proxy.set_mode("pass")
        onprem._connectors.reset()
        view = set_new_password(handle=view.handle, new_password=NEW, meta=meta)
    finally:
        OpenLdapDirectory.set_password = original
    assert view.state == FlowState.DONE
    assert len(set_new_password_calls) == 1  # written once, never again
    assert _notifications() == 1
    assert [a for a, _ in _activities(jan)].count("reset.completed") == 1


def test_the_reconciler_finishes_a_write_whose_process_died_before_the_audit(
    jan, meta, clock, direct
):
    """F5: killed between the directory write and the audit. The intent and the WRITING
    flow were committed before the write; the reconciler reads the marker and finishes
    the audit and the notification exactly once."""
    view = _verified(jan, meta)
    flow = ResetFlow.objects.get(user=jan)
    connector = writeback.on_premises(jan)
    from opensspr.resets.flow.transitions import Step, advance
    from opensspr.resets.flow.writeback import PURPOSE

    intent = writeback.begin(
        connector,
        jan,
        PURPOSE,
        {"flow": flow.pk, "meta": writeback.meta_context(meta)},
        also=lambda _i: advance(flow, Step.BEGIN_WRITEBACK),
    )
    connector.set_password(jan, NEW, unlock=True)  # ...and here the process died
    assert writeback.reconcile_pending() == 0  # too recent: a live request may still finish it
    clock.advance(seconds=writeback.GRACE.total_seconds() + 1)
    assert writeback.reconcile_pending() == 1
    assert writeback.reconcile_pending() == 0  # exactly once
    intent.refresh_from_db()
    assert intent.state == IntentState.APPLIED
    assert get_flow(handle=view.handle).state == FlowState.DONE
    completed = AuditEvent.objects.get(target=jan, activity="reset.completed")
    assert completed.details.get("reconciled") is True
    assert completed.correlation_id == flow.correlation_id
    assert _notifications() == 1


def test_the_reconciler_undoes_a_write_that_never_landed(jan, meta, clock, direct):
    view = _verified(jan, meta)
    flow = ResetFlow.objects.get(user=jan)
    from opensspr.resets.flow.transitions import Step, advance
    from opensspr.resets.flow.writeback import PURPOSE

    writeback.begin(
        writeback.on_premises(jan),
        jan,
        PURPOSE,
        {"flow": flow.pk, "meta": writeback.meta_context(meta)},
        also=lambda _i: advance(flow, Step.BEGIN_WRITEBACK),
    )  # ...and the process died before sending anything
    clock.advance(seconds=writeback.GRACE.total_seconds() + 1)
    assert writeback.reconcile_pending() == 1
    assert get_flow(handle=view.handle).state == FlowState.NEW_PASSWORD
    assert direct.verify_password(jan.on_premises_dn, OLD) is True
    assert _notifications() == 0
    assert set_new_password(handle=view.handle, new_password=NEW, meta=meta).state == (
        FlowState.DONE
    )


# Unlock, change, forced change, temporary password --------------------------------------


def test_unlock_only_removes_the_directory_lock_and_keeps_the_password(
    jan, meta, slapd_server, direct
):
    admin = slapd_server.admin()
    admin.modify(
        jan.on_premises_dn, {"pwdAccountLockedTime": [(MODIFY_REPLACE, ["20260101000000Z"])]}
    )
    admin.unbind()
    view = start_flow(identifier=jan.user_id, meta=meta)
    view = choose_operation(handle=view.handle, operation=Operation.UNLOCK, meta=meta)
    view = begin_verification(handle=view.handle, kind=K.EMAIL, contact=EMAIL, meta=meta)
    view = submit_verification(handle=view.handle, answer=_code(), meta=meta)
    assert view.state == FlowState.DONE
    assert not direct.account_state(jan.on_premises_dn).locked
    assert direct.verify_password(jan.on_premises_dn, OLD) is True


def test_a_change_is_made_by_the_directory_bound_as_the_person(jan, meta, direct):
    result = change_password(user=jan, current_password=OLD, new_password=NEW, meta=meta)
    assert result.outcome == ChangeOutcome.CHANGED
    assert direct.verify_password(jan.on_premises_dn, NEW) is True
    assert ("password.changed", "") in _activities(jan)
    assert WritebackIntent.objects.get(user=jan).state == IntentState.APPLIED


def test_a_change_with_the_wrong_current_password_counts_and_changes_nothing(jan, meta, direct):
    result = change_password(
        user=jan, current_password="Not-It-At-All-1", new_password=NEW, meta=meta
    )
    assert result.outcome == ChangeOutcome.WRONG_CURRENT
    assert direct.verify_password(jan.on_premises_dn, OLD) is True
    assert not WritebackIntent.objects.filter(user=jan).exists()


def test_a_change_refused_by_the_directory_says_why(jan, meta, direct):
    result = change_password(user=jan, current_password=OLD, new_password=OLD, meta=meta)
    assert result.outcome in (ChangeOutcome.DIRECTORY_REJECTED, ChangeOutcome.POLICY_REJECTED)
    assert direct.verify_password(jan.on_premises_dn, OLD) is True


def test_the_temporary_password_must_be_changed_at_the_next_sign_in(
    jan, meta, direct, user_factory
):
    from opensspr.accounts.models import RoleAssignment
    from opensspr.accounts.roles import AdminRole

    admin = user_factory()
    RoleAssignment.objects.create(user=admin, role=AdminRole.GLOBAL)
    temporary = issue_temporary_password(actor=admin, user=jan, meta=meta)
    assert direct.verify_password(jan.on_premises_dn, temporary) is True
    assert direct.account_state(jan.on_premises_dn).must_change is True
    result = sign_in(identifier=jan.user_id, password=temporary, meta=meta)
    assert result.outcome == SignInOutcome.CHANGE_REQUIRED
    assert result.change_reason == ChangeReason.ADMIN_RESET
    changed = change_password(
        user=jan, current_password=temporary, new_password=NEW, meta=meta, forced_reason="admin"
    )
    assert changed.outcome == ChangeOutcome.CHANGED
    assert direct.account_state(jan.on_premises_dn).must_change is False
    assert sign_in(identifier=jan.user_id, password=NEW, meta=meta).outcome == (
        SignInOutcome.SUCCESS
    )


def test_the_new_password_step_shows_the_directorys_own_rules(jan, meta, client):
    lines = policy_lines(password_policy_of(jan))
    assert "At least 8 characters long." in lines
    assert "Not one of your last 3 passwords." in lines
    assert policy_lines(None) == []


def test_without_a_reachable_directory_the_rules_are_left_out_not_guessed(jan, proxy):
    proxy.set_mode("refuse")
    onprem._connectors.reset()
    assert password_policy_of(jan) is None


# The directory down or hung at each step (F1, F2): a clear outcome, nothing half-done --


def _down(proxy: TcpProxy, how: str) -> None:
    proxy.set_mode(how)
    onprem._connectors.reset()  # no pooled session and no cached health survive


def _back(proxy: TcpProxy) -> None:
    proxy.set_mode("pass")
    onprem._connectors.reset()


@pytest.mark.parametrize("how", ["refuse", "stall"])
def test_down_when_the_flow_starts_the_flow_is_real_and_says_so_at_the_first_step(
    jan, meta, proxy, how
):
    _down(proxy, how)
    view = start_flow(identifier=jan.user_id, meta=meta)
    assert not ResetFlow.objects.get(user=jan).decoy  # a momentary outage is no verdict
    view = choose_operation(handle=view.handle, operation=Operation.RESET, meta=meta)
    with pytest.raises(FlowError) as down:
        begin_verification(handle=view.handle, kind=K.EMAIL, contact=EMAIL, meta=meta)
    assert down.value.code == "directory_unavailable"
    assert not delivered(recipient=EMAIL).exists()  # no code sent for a reset that can't finish
    assert not count_uses(rule_suffix=".contact_checks")  # none spent
    _back(proxy)
    view = begin_verification(handle=view.handle, kind=K.EMAIL, contact=EMAIL, meta=meta)
    view = submit_verification(handle=view.handle, answer=_code(), meta=meta)
    assert set_new_password(handle=view.handle, new_password=NEW, meta=meta).state == (
        FlowState.DONE
    )


@pytest.mark.parametrize("how", ["refuse", "stall"])
def test_down_when_the_code_is_checked_keeps_the_gate_open(jan, meta, proxy, how):
    view = start_flow(identifier=jan.user_id, meta=meta)
    view = choose_operation(handle=view.handle, operation=Operation.RESET, meta=meta)
    view = begin_verification(handle=view.handle, kind=K.EMAIL, contact=EMAIL, meta=meta)
    code = _code()
    _down(proxy, how)
    with pytest.raises(FlowError) as down:
        submit_verification(handle=view.handle, answer=code, meta=meta)
    assert down.value.code == "directory_unavailable"
    assert ResetFlow.objects.get(user=jan).state == FlowState.VERIFY
    _back(proxy)
    view = submit_verification(handle=view.handle, answer=code, meta=meta)
    assert view.state == FlowState.NEW_PASSWORD


@pytest.mark.parametrize("how", ["refuse", "stall"])
def test_down_at_the_new_password_changes_nothing(jan, meta, direct, proxy, how):
    view = _verified(jan, meta)
    _down(proxy, how)
    with pytest.raises(FlowError) as down:
        set_new_password(handle=view.handle, new_password=NEW, meta=meta)
    assert down.value.code == "directory_unavailable"
    assert direct.verify_password(jan.on_premises_dn, OLD) is True
    assert ResetFlow.objects.get(user=jan).state == FlowState.NEW_PASSWORD
    assert not WritebackIntent.objects.filter(user=jan, state=IntentState.PENDING).exists()
    assert _notifications() == 0
    assert "reset.completed" not in [a for a, _ in _activities(jan)]


@pytest.mark.parametrize("how", ["refuse", "stall"])
def test_down_at_a_change_or_sign_in_changes_and_counts_nothing(jan, meta, direct, proxy, how):
    _down(proxy, how)
    assert sign_in(identifier=jan.user_id, password=OLD, meta=meta).outcome == (
        SignInOutcome.UNAVAILABLE
    )
    changed = change_password(user=jan, current_password=OLD, new_password=NEW, meta=meta)
    assert changed.outcome == ChangeOutcome.UNAVAILABLE
    _back(proxy)
    assert direct.verify_password(jan.on_premises_dn, OLD) is True
    assert not WritebackIntent.objects.filter(user=jan).exists()


@pytest.mark.parametrize("typed", ["*", "jan*)(uid=*", "*)(|(objectClass=*", "jan\\2a", "admin)(&"])
def test_ldap_filter_characters_in_the_user_id_never_reach_a_filter(jan, meta, typed, proxy):
    """A13: sign-in and reset find people here by their ID; the directory only ever gets
    the synced DN. A typed filter finds nobody, and nothing filter-like crosses the wire."""
    before = len(proxy.client_bytes)
    assert sign_in(identifier=typed, password=OLD, meta=meta).outcome == SignInOutcome.INVALID
    start_flow(identifier=typed, meta=meta)
    assert typed.encode() not in bytes(proxy.client_bytes[before:])


@pytest.fixture
def person_with_policy(slapd_server: slapd.Slapd, user_factory):
    """A synced person whose entry names a ppolicy subentry (aged, nochange...)."""

    def make(policy: str):
        uid = f"pol{next(_serial)}"
        dn = f"uid={uid},{slapd.PEOPLE}"
        admin = slapd_server.admin()
        try:
            attributes = {
                "cn": uid,
                "sn": uid,
                "uid": uid,
                "userPassword": OLD,
                "pwdPolicySubentry": f"cn={policy},{slapd.POLICIES}",
            }
            assert admin.add(dn, ["inetOrgPerson"], attributes), admin.result
        finally:
            admin.unbind()
        return user_factory(
            f"{uid}@example.org",
            source="synced",
            on_premises_dn=dn,
            auth_email=EMAIL,
            password=None,
        )

    return make


@pytest.mark.parametrize(
    ("policy", "code"),
    [("aged", "password_too_young"), ("nochange", "change_not_allowed")],
)
def test_every_ppolicy_refusal_of_a_change_reaches_the_person_with_its_reason(
    person_with_policy, meta, direct, policy, code
):
    person = person_with_policy(policy)
    result = change_password(user=person, current_password=OLD, new_password=NEW, meta=meta)
    assert result.outcome == ChangeOutcome.DIRECTORY_REJECTED
    assert result.directory_reason == code
    assert direct.verify_password(person.on_premises_dn, OLD) is True
    failed = AuditEvent.objects.get(target=person, activity="password.change_failed")
    assert failed.reason == f"directory:{code}"


def test_a_reset_of_a_value_ppolicy_cant_check_is_refused_for_quality(jan, meta, direct):
    """pwdCheckQuality 2: a value that looks pre-hashed can't be checked, so it is refused."""
    view = _verified(jan, meta)
    with pytest.raises(PasswordRejectedError) as refused:
        set_new_password(
            handle=view.handle, new_password="{SSHA}c29tZXRoaW5nLWhhc2hlZA==", meta=meta
        )
    assert refused.value.code == "directory:password_quality"
    assert direct.verify_password(jan.on_premises_dn, OLD) is True


def test_a_lagging_replica_never_settles_a_write_it_has_not_seen(
    jan, meta, clock, proxy, slapd_server, *, lagging_replica
):
    """F5: the write went to the first server and its answer was lost; that server is then
    down. The second server answers, but it hasn't replicated the write, so its marker is
    the old one. Write and read-back share one server: the reconciler waits for the first
    server rather than call the write lost from the replica's stale answer."""
    admin = lagging_replica.admin()
    try:
        uid = jan.on_premises_dn.split(",")[0].removeprefix("uid=")
        attributes = {"cn": uid, "sn": uid, "uid": uid, "userPassword": OLD}
        assert admin.add(jan.on_premises_dn, ["inetOrgPerson"], attributes), admin.result
    finally:
        admin.unbind()
    replica_proxy = TcpProxy("127.0.0.1", lagging_replica.ldap_port)
    replica = OpenLdapDirectory(slapd.openldap_config(lagging_replica))
    try:
        settings = DirectorySettings.objects.get(pk=1)
        settings.urls = f"ldap://127.0.0.1:{proxy.port}\nldap://127.0.0.1:{replica_proxy.port}"
        settings.ca_certificate = (
            slapd_server.tls.ca_file.read_text() + lagging_replica.tls.ca_file.read_text()
        )
        settings.save()
        onprem._connectors.reset()
        view = _verified(jan, meta)
        original = OpenLdapDirectory.set_password

        def lost_answer(self, *args, **kwargs):
            proxy.set_mode("mute")  # the first server applies it; its answer never comes
            return original(self, *args, **kwargs)

        OpenLdapDirectory.set_password = lost_answer
        try:
            with pytest.raises(FlowError) as lost:
                set_new_password(handle=view.handle, new_password=NEW, meta=meta)
        finally:
            OpenLdapDirectory.set_password = original
        assert lost.value.code == "directory_unavailable"
        intent = WritebackIntent.objects.get(user=jan)
        assert intent.server == f"127.0.0.1:{proxy.port}"
        proxy.set_mode("refuse")  # the first server goes down; the replica still answers
        onprem._connectors.reset()
        clock.advance(seconds=writeback.GRACE.total_seconds() + 1)

        assert writeback.reconcile_pending() == 0  # the replica's old marker decides nothing
        intent.refresh_from_db()
        assert intent.state == IntentState.PENDING
        assert ResetFlow.objects.get(user=jan).state == FlowState.WRITING
        assert replica.verify_password(jan.on_premises_dn, OLD) is True  # it lags, truly
        assert _notifications() == 0

        proxy.set_mode("pass")  # the first server is back: it has the write
        assert writeback.reconcile_pending() == 1
        intent.refresh_from_db()
        assert intent.state == IntentState.APPLIED
        assert get_flow(handle=view.handle).state == FlowState.DONE
        assert _notifications() == 1
        assert replica.verify_password(jan.on_premises_dn, OLD) is True  # never written there
    finally:
        replica.close()
        replica_proxy.close()
