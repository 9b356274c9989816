"""Signing in with a temporary access pass: security info only, and never a reset gate."""

import pytest

from opensspr.policy.kinds import MethodKind as K
from opensspr.registration.access_passes import issue_access_pass, revoke_access_pass
from opensspr.registration.models import RegistrationState
from opensspr.resets.flow import (
    FlowError,
    begin_verification,
    change_method,
    choose_operation,
    get_flow,
    start_flow,
    submit_verification,
)
from opensspr.resets.models import FlowState, Operation
from tests.conftest import delivered, open_reset_policy
from tests.registration.conftest import code_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _policy():
    open_reset_policy()


@pytest.fixture
def helpdesk(user_factory):
    return user_factory(roles=("helpdesk_admin",))


@pytest.fixture
def lost(user_factory):
    """Someone who has lost every method: nothing registered."""
    return user_factory("lost@contoso.example")


def _issue(helpdesk, person, meta, one_time=True):
    return issue_access_pass(
        actor=helpdesk, user=person, lifetime_minutes=60, one_time=one_time, meta=meta
    ).passcode


def _sign_in(client, person, passcode):
    return client.post("/signin/access-pass", {"user_id": person.user_id, "passcode": passcode})


def test_the_sign_in_page_links_to_the_access_pass_page(client):
    page = client.get("/signin").content.decode()
    assert 'href="/signin/access-pass"' in page
    assert "Sign in with a temporary access pass" in page


def test_a_pass_lands_in_security_info_and_lets_the_person_register(client, helpdesk, lost, meta):
    response = _sign_in(client, lost, _issue(helpdesk, lost, meta))
    assert response.status_code == 302 and response["Location"] == "/security-info"
    page = client.get("/security-info").content.decode()
    assert 'id="access-pass-intro"' in page
    # No "verify it's you" first: the pass proved it's the person.
    response = client.post("/security-info/email", {"address": "lost@mail.example"})
    assert response.status_code == 302
    client.post("/security-info/confirm", {"code": code_for("lost@mail.example")})
    lost.refresh_from_db()
    assert lost.auth_email == "lost@mail.example"
    assert RegistrationState.objects.get(user=lost).auth_email_proven_at is not None


@pytest.mark.parametrize("path", ["/", "/password/change", "/console/", "/reset", "/signin"])
def test_a_pass_session_reaches_nothing_but_security_info(client, helpdesk, lost, meta, path):
    _sign_in(client, lost, _issue(helpdesk, lost, meta))
    response = client.get(path)
    assert response.status_code == 302 and response["Location"] == "/security-info"


def test_an_administrator_signed_in_with_a_pass_gets_no_console(client, user_factory, meta):
    admin = user_factory(roles=("password_admin",))
    _sign_in(client, admin, _issue(user_factory(roles=("global_admin",)), admin, meta))
    assert client.get("/console/accounts/user/")["Location"] == "/security-info"


def test_revoking_the_pass_ends_its_session(client, helpdesk, lost, meta):
    _sign_in(client, lost, _issue(helpdesk, lost, meta, one_time=False))
    assert client.get("/security-info").status_code == 200
    revoke_access_pass(actor=helpdesk, user=lost, meta=meta)
    response = client.get("/security-info")
    assert response.status_code == 302 and response["Location"] == "/signin"
    assert client.get("/security-info").status_code == 302  # signed out


def test_the_session_ends_after_an_hour(client, helpdesk, lost, meta, clock):
    _sign_in(client, lost, _issue(helpdesk, lost, meta))
    clock.advance(minutes=59)
    assert client.get("/security-info").status_code == 200
    clock.advance(minutes=1)
    assert client.get("/security-info")["Location"] == "/signin"


def test_a_wrong_pass_is_told_without_saying_why(client, helpdesk, lost, meta):
    _issue(helpdesk, lost, meta)
    page = _sign_in(client, lost, "not-the-pass-at-all").content.decode()
    assert "don&#x27;t match, or the pass is no longer valid" in page
    unknown = client.post(
        "/signin/access-pass", {"user_id": "nobody@contoso.example", "passcode": "x" * 16}
    ).content.decode()
    assert "don&#x27;t match, or the pass is no longer valid" in unknown


def test_a_pass_never_counts_as_a_reset_gate(client, helpdesk, lost, meta):
    """Whatever the flow offers, the pass typed as the answer passes nothing."""
    passcode = _issue(helpdesk, lost, meta)
    view = start_flow(identifier=lost.user_id, meta=meta)
    view = choose_operation(handle=view.handle, operation=Operation.RESET, meta=meta)
    for option in view.options:
        try:
            view = begin_verification(
                handle=view.handle, kind=option.kind, contact=passcode, meta=meta
            )
        except FlowError:
            continue  # refused before any answer: nothing to pass
        answer = passcode if option.kind != K.SECURITY_QUESTIONS else {}
        with pytest.raises(FlowError):
            submit_verification(handle=view.handle, answer=answer, meta=meta)
        view = change_method(handle=get_flow(handle=view.handle).handle, meta=meta)
        assert view.state == FlowState.VERIFY
    assert not delivered().exists()


def test_a_new_pass_ends_the_session_of_the_old_one(client, helpdesk, lost, meta):
    _sign_in(client, lost, _issue(helpdesk, lost, meta, one_time=False))
    assert client.get("/security-info").status_code == 200
    _issue(helpdesk, lost, meta)
    assert client.get("/security-info")["Location"] == "/signin"
