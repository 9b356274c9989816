"""Synced people against a real Samba AD DC: sign-in, reset through the flow, change,
the temporary password, a protected account and a history refusal, end to end."""

import re
from collections.abc import Iterator

import pytest
from ldap3 import MODIFY_REPLACE

from opensspr.audit.models import AuditEvent
from opensspr.core.crypto import seal
from opensspr.directory import onprem
from opensspr.directory.ldap.active_directory import ActiveDirectory
from opensspr.directory.models import DirectorySettings, IntentState, WritebackIntent
from opensspr.policy.kinds import MethodKind as K
from opensspr.resets.admin_reset import issue_temporary_password
from opensspr.resets.flow import (
    FlowError,
    begin_verification,
    choose_operation,
    set_new_password,
    start_flow,
    submit_verification,
)
from opensspr.resets.models import FlowState, Operation
from opensspr.signin.change import ChangeOutcome, change_password
from opensspr.signin.services import SignInOutcome, sign_in
from tests.conftest import delivered, open_reset_policy
from tests.directory import samba

pytestmark = pytest.mark.django_db
NEW = "Lantern-Harbour-Quiet-93"
EMAIL = "ad-person@mail.example"


@pytest.fixture(autouse=True)
def configured(samba_dc: samba.SambaDc) -> Iterator[None]:
    DirectorySettings.objects.create(
        pk=1,
        kind="active_directory",
        urls=f"ldaps://{samba.HOST}:636",
        tls_mode="ldaps",
        ca_certificate=samba_dc.ca_file.read_text(),
        server_name=samba.SERVER_NAME,
        bind_dn=samba.RESETTER_DN,
        bind_password_sealed=seal(samba.RESETTER_PW),
        base_dn=samba.DOMAIN_DN,
        user_filter="(&(objectCategory=person)(objectClass=user))",
        user_id_attribute="sAMAccountName",
        ad_policy_hints=samba_dc.supports_policy_hints,
    )
    open_reset_policy(writeback_enabled=True)
    try:
        yield
    finally:
        onprem._connectors.reset()


@pytest.fixture
def person(ad_user, user_factory):
    dn = ad_user()
    name = dn.split(",")[0].removeprefix("CN=")
    return user_factory(
        f"{name}@example.test",
        source="synced",
        on_premises_dn=dn,
        auth_email=EMAIL,
        password=None,
    )


def _verified(user, meta):
    view = start_flow(identifier=user.user_id, meta=meta)
    view = choose_operation(handle=view.handle, operation=Operation.RESET, meta=meta)
    view = begin_verification(handle=view.handle, kind=K.EMAIL, contact=EMAIL, meta=meta)
    body = delivered(recipient=EMAIL).order_by("-id").first().plaintext_body()
    code = re.search(r"\b(\d{6,8})\b", body).group(1)
    view = submit_verification(handle=view.handle, answer=code, meta=meta)
    assert view.state == FlowState.NEW_PASSWORD
    return view


def test_reset_sign_in_and_change_against_active_directory(
    person, meta, active_directory: ActiveDirectory
):
    assert sign_in(identifier=person.user_id, password=samba.INITIAL_PW, meta=meta).outcome == (
        SignInOutcome.SUCCESS
    )
    view = set_new_password(handle=_verified(person, meta).handle, new_password=NEW, meta=meta)
    assert view.state == FlowState.DONE
    assert active_directory.verify_password(person.on_premises_dn, NEW) is True
    assert WritebackIntent.objects.get(user=person).state == IntentState.APPLIED
    assert sign_in(identifier=person.user_id, password=NEW, meta=meta).outcome == (
        SignInOutcome.SUCCESS
    )
    changed = change_password(
        user=person, current_password=NEW, new_password="Quiet-Meadow-Lantern-58", meta=meta
    )
    assert changed.outcome == ChangeOutcome.CHANGED
    assert active_directory.verify_password(person.on_premises_dn, "Quiet-Meadow-Lantern-58")


def test_a_password_in_ads_history_is_refused_with_the_directorys_reason(
    person, meta, active_directory: ActiveDirectory
):
    """History applies to a person's own change (and to resets where the DC has the
    policy-hints control): the change back to the first password is refused by AD."""
    assert change_password(
        user=person, current_password=samba.INITIAL_PW, new_password=NEW, meta=meta
    ).changed
    back = change_password(
        user=person, current_password=NEW, new_password=samba.INITIAL_PW, meta=meta
    )
    assert back.outcome == ChangeOutcome.DIRECTORY_REJECTED
    assert back.directory_reason.startswith("password_")
    assert active_directory.verify_password(person.on_premises_dn, NEW) is True
    intents = WritebackIntent.objects.filter(user=person).order_by("id")
    assert [i.state for i in intents] == [IntentState.APPLIED, IntentState.NOT_APPLIED]


def test_a_protected_account_is_refused_with_its_own_outcome(person, meta, samba_dc):
    admin = samba_dc.admin()
    try:
        admin.modify(person.on_premises_dn, {"adminCount": [(MODIFY_REPLACE, ["1"])]})
    finally:
        admin.unbind()
    try:
        view = _verified(person, meta)
        with pytest.raises(FlowError) as refused:
            set_new_password(handle=view.handle, new_password=NEW, meta=meta)
        assert refused.value.code == "directory:protected_account"
        failed = AuditEvent.objects.filter(target=person, activity="reset.failed").get()
        assert failed.reason == "protected_account"
        assert delivered(recipient=EMAIL).filter(purpose="reset.notification").count() == 0
    finally:  # the domain controller lives for the session: leave no protected account behind
        admin = samba_dc.admin()
        try:
            admin.modify(person.on_premises_dn, {"adminCount": [(MODIFY_REPLACE, ["0"])]})
        finally:
            admin.unbind()


def test_unlock_only_and_a_temporary_password_against_active_directory(
    person, meta, samba_dc, active_directory: ActiveDirectory, user_factory
):
    """Unlock-only sets lockoutTime=0 and keeps the password; the console's temporary password
    sets pwdLastSet=0, so sign-in sends the person to change it, and the change clears it."""
    admin = samba_dc.admin()
    try:
        admin.modify(person.on_premises_dn, {"lockoutTime": [(MODIFY_REPLACE, ["1"])]})
    finally:
        admin.unbind()
    view = start_flow(identifier=person.user_id, meta=meta)
    view = choose_operation(handle=view.handle, operation=Operation.UNLOCK, meta=meta)
    view = begin_verification(handle=view.handle, kind=K.EMAIL, contact=EMAIL, meta=meta)
    body = delivered(recipient=EMAIL).order_by("-id").first().plaintext_body()
    code = re.search(r"\b(\d{6,8})\b", body).group(1)
    assert submit_verification(handle=view.handle, answer=code, meta=meta).state == FlowState.DONE
    state = active_directory.account_state(person.on_premises_dn)
    assert not state.locked
    assert active_directory.verify_password(person.on_premises_dn, samba.INITIAL_PW) is True

    helpdesk = user_factory(roles=("global_admin",))
    temporary = issue_temporary_password(actor=helpdesk, user=person, meta=meta)
    assert active_directory.account_state(person.on_premises_dn).must_change is True
    signed = sign_in(identifier=person.user_id, password=temporary, meta=meta)
    assert signed.outcome == SignInOutcome.CHANGE_REQUIRED
    changed = change_password(
        user=person, current_password=temporary, new_password=NEW, meta=meta, forced_reason="x"
    )
    assert changed.outcome == ChangeOutcome.CHANGED
    assert active_directory.account_state(person.on_premises_dn).must_change is False
    assert sign_in(identifier=person.user_id, password=NEW, meta=meta).outcome == (
        SignInOutcome.SUCCESS
    )
