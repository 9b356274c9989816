"""Guests (reference §11): B2B and self-service sign-up guests reset with the address they
were invited or signed up with; a personal external account is told to recover it at its
provider; the console and the report show who is a guest."""

import csv
import io
import re

import pytest
from django.test import Client

from opensspr.accounts.models import GuestKind, UserType
from opensspr.policy.eligibility import Reason
from opensspr.policy.kinds import MethodKind as K
from opensspr.policy.reset_selectors import eligibility_for, get_sspr_policy
from opensspr.reports.registered import DataKind, get_registration_summary
from opensspr.resets.flow import (
    FlowError,
    begin_verification,
    choose_operation,
    set_new_password,
    start_flow,
    submit_verification,
)
from opensspr.resets.models import FlowState, Operation
from tests.conftest import delivered, open_reset_policy

pytestmark = pytest.mark.django_db
NEW = "Lantern-Harbour-Quiet-93"


@pytest.fixture(autouse=True)
def _policy():
    open_reset_policy()


def _guest(user_factory, user_id, email, kind, **fields):
    return user_factory(user_id, email=email, user_type=UserType.GUEST, guest_kind=kind, **fields)


def _reset_by_email(user, typed, meta):
    view = start_flow(identifier=user.user_id, meta=meta)
    view = choose_operation(handle=view.handle, operation=Operation.RESET, meta=meta)
    return begin_verification(handle=view.handle, kind=K.EMAIL, contact=typed, meta=meta)


def _code(recipient):
    body = delivered(recipient=recipient).first().plaintext_body()
    return re.search(r"\b(\d{6,8})\b", body).group(1)


@pytest.mark.parametrize("kind", [GuestKind.B2B_PARTNER, GuestKind.SELF_SERVICE_SIGNUP])
def test_an_invited_or_signed_up_guest_resets_with_the_address_they_came_with(
    user_factory, meta, kind
):
    pat = _guest(
        user_factory, "pat_partner.example#EXT#@contoso.example", "pat@partner.example", kind
    )
    assert eligibility_for(pat, get_sspr_policy()).eligible
    view = _reset_by_email(pat, "Pat@Partner.example", meta)
    view = submit_verification(handle=view.handle, answer=_code("pat@partner.example"), meta=meta)
    done = set_new_password(handle=view.handle, new_password=NEW, meta=meta)
    assert done.state == FlowState.DONE
    # The report counts it as their email, not proven by them (the inviter set it).
    summary = get_registration_summary(pat, get_sspr_policy())
    assert summary.status(DataKind.EMAIL).proven is False


def test_a_guests_authentication_email_comes_first(user_factory, meta):
    pat = _guest(
        user_factory,
        "pat2@contoso.example",
        "pat2@partner.example",
        GuestKind.B2B_PARTNER,
        auth_email="pat.private@mail.example",
    )
    with pytest.raises(FlowError, match="contact_mismatch"):
        _reset_by_email(pat, "pat2@partner.example", meta)
    _reset_by_email(pat, "pat.private@mail.example", meta)
    assert delivered(recipient="pat.private@mail.example").exists()


def test_a_members_primary_address_is_no_way_to_reset(user_factory, meta):
    """A member's primary address is a mailbox of ours: locked out of the account, locked
    out of it too. Only a guest's is their own."""
    jan = user_factory("jan@contoso.example", email="jan@contoso.example")
    decision = eligibility_for(jan, get_sspr_policy())
    assert not decision.eligible and decision.reason == Reason.NOT_ENOUGH_METHODS
    with pytest.raises(FlowError):
        _reset_by_email(jan, "jan@contoso.example", meta)
    assert not delivered(recipient="jan@contoso.example").exists()


def test_a_personal_account_guest_is_sent_to_their_provider(user_factory, meta, client):
    kim = _guest(
        user_factory,
        "kim_outlook.example#EXT#@contoso.example",
        "kim@outlook.example",
        GuestKind.PERSONAL_ACCOUNT,
        auth_email="kim@outlook.example",
    )
    decision = eligibility_for(kim, get_sspr_policy())
    assert decision.reason == Reason.PERSONAL_ACCOUNT
    # At the portal: the same decoy every unknown ID gets, so nothing tells who exists.
    with pytest.raises(FlowError):
        submit_verification(
            handle=_reset_by_email(kim, "kim@outlook.example", meta).handle,
            answer="00000000",
            meta=meta,
        )
    assert not delivered(recipient="kim@outlook.example").exists()
    # Signed in, their own page says plainly where to go.
    client.force_login(kim)
    page = client.get("/security-info").content.decode()
    assert "reset their password where it lives" in page


def test_the_report_and_the_console_show_who_is_a_guest(user_factory):
    _guest(user_factory, "pat3@contoso.example", "pat3@partner.example", GuestKind.B2B_PARTNER)
    user_factory("jan@contoso.example", auth_email="jan@mail.example")
    admin = Client()
    admin.force_login(user_factory(roles=("global_admin",)))
    page = admin.get("/console/reports/registrations/").content.decode()
    assert "guest: B2B partner organisation" in page
    table = list(
        csv.DictReader(
            io.StringIO(
                admin.get("/console/reports/registrations/", {"export": "csv"}).getvalue().decode()
            )
        )
    )
    types = {row["user_id"]: row["user_type"] for row in table}
    assert types["pat3@contoso.example"] == "guest:b2b_partner"
    assert types["jan@contoso.example"] == "member"
    users = admin.get("/console/accounts/user/", {"user_type__exact": "guest"}).content.decode()
    assert "pat3@contoso.example" in users and "jan@contoso.example" not in users
