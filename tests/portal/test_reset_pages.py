"""The reset portal's pages, one state and one engine outcome at a time."""

import html
import re

import pyotp
import pytest
from django.conf import settings
from django.test import Client

from opensspr.audit.models import AuditEvent
from opensspr.captcha.fields import NOT_CONFIRMED
from opensspr.core.crypto import seal
from opensspr.core.request_meta import RequestMeta
from opensspr.methods.models import AuthenticatorApp
from opensspr.portal import reset_views
from opensspr.resets.flow import FlowError, PasswordRejectedError, confirm_voice_call, get_flow
from opensspr.resets.models import FlowState, ResetFlow
from opensspr.signin.services import SignInOutcome, sign_in
from tests.conftest import DEFAULT_PASSWORD, update_policy
from tests.portal.conftest import MOBILE, NEW, OFFICE, code_for, delivered, solved_captcha

pytestmark = pytest.mark.django_db
META = RequestMeta("192.0.2.10", "pytest", "pages")


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _h1(response) -> str:
    return re.search(r"<h1[^>]*>(.*?)</h1>", _text(response), re.S).group(1).strip()


# --- start ------------------------------------------------------------------------------


def test_start_page_prefills_the_user_id_and_shows_the_captcha(client):
    response = client.get("/reset?username=jan@contoso.example")
    assert response.status_code == 200
    assert _h1(response) == "Get back into your account"
    assert 'value="jan@contoso.example"' in _text(response)
    assert "data-captcha" in _text(response)
    assert "no-store" in response["Cache-Control"]


def test_start_without_a_solved_captcha_starts_nothing(client, jan):
    response = client.post("/reset", {"user_id": jan.user_id, "captcha": ""})
    assert response.status_code == 200
    assert str(NOT_CONFIRMED) in _text(response)
    assert 'aria-describedby="id_captcha_error"' in _text(response)
    assert not ResetFlow.objects.exists()


def test_start_keeps_only_the_handle_in_the_session_and_redirects(portal, jan, client):
    client.get("/reset")
    before = portal.session_key
    response = portal.start(jan.user_id)
    assert response.status_code == 302 and response["Location"] == "/reset/flow"
    session = client.session
    handle = session["opensspr_reset"]
    assert isinstance(handle, str) and len(handle) > 30
    # The handle, the user ID as typed (shown on every step so a typo shows), and which
    # flow of this browser it is (a page of an earlier one can't act on it).
    allowed = {"opensspr_reset", "opensspr_reset_typed", "opensspr_reset_seq", "opensspr_language"}
    assert set(session.keys()) <= allowed
    assert session["opensspr_reset_typed"] == jan.user_id
    assert handle not in response["Location"]
    assert portal.session_key != before
    assert ResetFlow.objects.count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_flow_page_without_a_flow_sends_you_to_the_start(client, method):
    response = getattr(client, method)("/reset/flow", {"action": "password"})
    assert response.status_code == 302 and response["Location"] == "/reset"


def test_other_http_methods_are_refused(client):
    assert client.put("/reset/flow").status_code == 405
    assert client.delete("/reset").status_code == 405


def test_every_form_needs_a_csrf_token_from_this_site(jan):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/reset", {"user_id": jan.user_id}).status_code == 403
    assert strict.post("/reset/flow", {"action": "another"}).status_code == 403
    strict.get("/reset")
    token = strict.cookies[settings.CSRF_COOKIE_NAME].value
    data = {"user_id": jan.user_id, "csrfmiddlewaretoken": token}
    assert strict.post("/reset", data, HTTP_ORIGIN="https://evil.test").status_code == 403
    assert strict.post("/reset", data).status_code == 200  # the token alone is fine


# --- the happy paths --------------------------------------------------------------------


def test_a_full_email_reset_through_the_pages(portal, jan):
    portal.start(jan.user_id)
    page = portal.page()
    assert _h1(page) == "Why are you having trouble signing in?"
    assert "I forgot my password" in _text(page)
    assert "I know my password, but still can't sign in" in _text(page)
    assert re.search(r'value="reset"[^>]*checked', _text(page))
    assert portal.post("operation", operation="reset")["Location"] == "/reset/flow"

    page = portal.page()
    assert _h1(page) == "Verify it's you"
    assert re.search(r'<p class="step">Verification step 1</p>', _text(page))
    labels = re.findall(r'<label for="id_method_\d">(.*?)</label>', _text(page))
    assert labels == [
        "Email my alternate email",
        "Text my mobile phone",
        "Call my mobile phone",
        "Call my office phone",
    ]
    # The CSRF token is random, and once held "555".
    shown = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", _text(page))
    assert "jan@mail" not in shown and "555" not in shown  # nothing, not even masked

    assert portal.post("method", method="email", contact_email="JAN@mail.example ").status_code == (
        302
    )
    page = portal.page()
    assert _h1(page) == "Enter your code"
    assert 'autocomplete="one-time-code"' in _text(page)
    # Masked only once the person typed the address in full and it matched.
    assert "We've emailed a code to j•••@mail.example." in _text(page)
    assert 'inputmode="numeric"' in _text(page)
    assert "The code works for 5 minutes, until" in _text(page)
    assert "Try another way" in _text(page)

    code = re.search(r"\b(\d{8})\b", delivered(recipient="jan@mail.example")[0].plaintext_body())
    assert portal.post("answer", code=code.group(1)).status_code == 302
    page = portal.page()
    assert _h1(page) == "Choose a new password"
    assert _text(page).count('autocomplete="new-password"') == 2
    assert "Password requirements" in _text(page)

    response = portal.post("password", new_password=NEW, confirm_password=NEW)
    assert response.status_code == 302 and response["Location"] == "/reset/flow"
    page = portal.page()
    assert _h1(page) == "Your password has been reset"
    assert 'href="/signin"' in _text(page)
    assert "opensspr_reset" not in portal.client.session
    assert sign_in(identifier=jan.user_id, password=NEW, meta=META).outcome == (
        SignInOutcome.SUCCESS
    )
    # The done page was the end: the flow page now leads back to the start.
    assert portal.page()["Location"] == "/reset"


def test_the_session_key_changes_at_every_step(portal, jan):
    keys = [None]
    portal.client.get("/reset")
    keys.append(portal.session_key)
    portal.start(jan.user_id)
    keys.append(portal.session_key)
    portal.post("operation", operation="reset")
    keys.append(portal.session_key)
    portal.post("method", method="email", contact_email="jan@mail.example")
    keys.append(portal.session_key)
    old_cookie = portal.session_key
    portal.post("answer", code=code_for("jan@mail.example"))
    keys.append(portal.session_key)
    portal.post("password", new_password=NEW, confirm_password=NEW)
    keys.append(portal.session_key)
    assert len(set(keys[1:])) == len(keys[1:]), keys
    # The cookie from before the gate opens nothing any more.
    stale = Client()
    stale.cookies[settings.SESSION_COOKIE_NAME] = old_cookie
    assert stale.get("/reset/flow")["Location"] == "/reset"


def test_a_chosen_session_id_is_not_adopted(client, jan):
    client.cookies[settings.SESSION_COOKIE_NAME] = "attackerchosen0123456789abcdefgh"
    client.post("/reset", {"user_id": jan.user_id, "captcha": solved_captcha()})
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != "attackerchosen0123456789abcdefgh"


def test_administrators_pass_two_gates_with_different_data(portal, user_factory):
    admin = user_factory(
        "ada@contoso.example",
        auth_email="ada@mail.example",
        mobile_phone=MOBILE,
        roles=("user_admin",),
    )
    portal.to_verify(admin.user_id)
    page = portal.pass_email("ada@mail.example")
    assert "Verification step 2 of 2" in _text(page)
    assert "Email my alternate email" not in _text(page)
    portal.post("method", method="mobile_sms", contact_mobile_sms="+31 6 12345678")
    assert "Verification step 2 of 2" in _text(portal.page())
    assert portal.post("answer", code=code_for(MOBILE)).status_code == 302
    assert _h1(portal.page()) == "Choose a new password"


def test_unlock_ends_a_lockout_and_keeps_the_password(portal, jan):
    for i in range(10):
        sign_in(identifier=jan.user_id, password=f"Wrong-{i}", meta=META)
    assert sign_in(identifier=jan.user_id, password=DEFAULT_PASSWORD, meta=META).outcome == (
        SignInOutcome.LOCKED
    )
    portal.to_verify(jan.user_id, operation="unlock")
    page = portal.pass_email("jan@mail.example")
    assert _h1(page) == "Your account is unlocked"
    assert "with the password you have" in _text(page)
    assert sign_in(identifier=jan.user_id, password=DEFAULT_PASSWORD, meta=META).outcome == (
        SignInOutcome.SUCCESS
    )


def test_without_unlock_the_operation_question_is_skipped(portal, jan):
    update_policy(unlock_without_reset=False)
    portal.start(jan.user_id)
    assert _h1(portal.page()) == "Verify it's you"


def test_a_voice_gate_waits_for_the_answered_call(portal, jan):
    portal.to_verify(jan.user_id)
    portal.post("method", method="office_voice", contact_office_voice="+31 20 555 0102")
    page = portal.page()
    assert _h1(page) == "Answer the call"
    assert "calling +31 2 •••• 0102. Answer and press #, then select Continue." in _text(page)
    assert "You can answer until" in _text(page)
    response = portal.post("call_done")
    assert response.status_code == 200
    assert 'role="alert"' in _text(response)
    assert "We haven't had your answer yet" in _text(response)
    token = delivered(recipient=OFFICE).first().plaintext_voice_token()
    assert confirm_voice_call(token=token, digits="#", meta=META)
    assert portal.post("call_done").status_code == 302
    assert _h1(portal.page()) == "Choose a new password"


def test_try_another_way_goes_back_to_the_methods(portal, jan):
    portal.to_verify(jan.user_id)
    portal.post("method", method="email", contact_email="jan@mail.example")
    assert _h1(portal.page()) == "Enter your code"
    assert portal.post("another").status_code == 302
    assert _h1(portal.page()) == "Verify it's you"


def test_an_authenticator_app_needs_no_contact_and_asks_for_its_code(portal, user_factory, clock):
    person = user_factory(auth_email="p@mail.example")
    secret = pyotp.random_base32()
    AuthenticatorApp.objects.create(user=person, secret_sealed=seal(secret), confirmed_at=clock.now)
    page = portal.to_verify(person.user_id)
    assert "Enter a code from my authenticator app" in _text(page)
    assert 'name="contact_app_code"' not in _text(page)
    assert portal.post("method", method="app_code").status_code == 302
    page = portal.page()
    assert "Open your authenticator app" in _text(page)
    assert "code-expiry" not in _text(page)
    code = pyotp.TOTP(secret).at(clock.now.timestamp())
    assert portal.post("answer", code=f"{code[:3]} {code[3:]}").status_code == 302
    assert _h1(portal.page()) == "Choose a new password"


# --- refusals and their messages ------------------------------------------------------


def test_a_method_must_be_chosen_and_its_contact_typed(portal, jan):
    portal.to_verify(jan.user_id)
    response = portal.post("method")
    assert "Choose a way to verify." in _text(response)
    assert 'aria-describedby="id_method_error"' in _text(response)
    response = portal.post("method", method="email", contact_email=" ")
    assert "Type your full email address." in _text(response)
    assert re.search(r'name="contact_email"[^>]*autofocus', _text(response))


def test_a_wrong_email_address_is_refused_plainly(portal, jan):
    portal.to_verify(jan.user_id)
    response = portal.post("method", method="email", contact_email="someone@evil.example")
    assert response.status_code == 200
    assert "That doesn't match what's registered for this account." in _text(response)
    assert 'aria-describedby="id_contact_email_helptext id_contact_email_error"' in _text(response)
    assert "country code, starting with +" not in _text(response)
    assert not delivered(recipient="someone@evil.example").exists()


def test_a_wrong_phone_number_explains_the_format(portal, jan):
    portal.to_verify(jan.user_id)
    response = portal.post("method", method="mobile_sms", contact_mobile_sms="0687654321")
    assert "That doesn't match what's registered" in _text(response)
    assert "starting with +, for example +31 612345678" in _text(response)
    assert re.search(r'value="mobile_sms"[^>]*checked', _text(response))
    # Typed with its country code, the number was simply another one: no format lesson.
    response = portal.post("method", method="mobile_sms", contact_mobile_sms="+31 6 87654321")
    assert "That doesn't match what's registered" in _text(response)
    assert "starting with +" not in _text(response)


def test_the_number_as_dialled_at_home_matches_too(portal, jan):
    portal.to_verify(jan.user_id)
    response = portal.post("method", method="mobile_sms", contact_mobile_sms="06 1234 5678")
    assert response.status_code == 302
    assert delivered(recipient=MOBILE).count() == 1


def test_a_wrong_code_is_refused_then_the_fifth_blocks(portal, jan, clock):
    portal.to_verify(jan.user_id)
    portal.post("method", method="email", contact_email="jan@mail.example")
    waits = [None, None, "wait 30 seconds before the next try", "wait 2 minutes before"]
    for wait in waits:
        response = portal.post("answer", code="00000000")
        assert response.status_code == 200
        assert "That code isn't right." in _text(response)
        assert 'value="00000000"' not in _text(response)
        assert 'aria-invalid="true"' in _text(response)
        assert "more time" in _text(response) and "blocked for this account" in _text(response)
        if wait:
            assert wait in _text(response)
            # Too early: nothing is compared, the page says how long to wait, the flow stays.
            early = portal.post("answer", code=code_for("jan@mail.example"))
            assert "paused for a short while" in _text(early)
            assert "wait" in _text(early) and "before the next try" in _text(early)
            clock.advance(minutes=2, seconds=1)
    response = portal.post("answer", code="00000000")
    assert response.status_code == 302
    page = portal.page()
    assert _h1(page) == "You can't reset your password right now"
    assert "too many wrong codes or answers" in _text(page)
    assert "public-code" not in _text(page)
    assert 'id="contact-admin"' in _text(page)


def test_an_expired_code_says_so(portal, jan, clock):
    portal.to_verify(jan.user_id)
    portal.post("method", method="email", contact_email="jan@mail.example")
    code = code_for("jan@mail.example")
    clock.advance(minutes=5, seconds=1)
    response = portal.post("answer", code=code)
    # The challenge is gone, so the page is the method list again, with the message.
    assert "That code has expired." in _text(response)


def test_an_expired_flow_ends_with_a_way_to_start_again(portal, jan, clock):
    portal.to_verify(jan.user_id)
    clock.advance(minutes=16)
    page = portal.page()
    assert _h1(page) == "Your session ended"
    assert "15 minutes" in _text(page)
    assert 'href="/reset"' in _text(page)
    assert "opensspr_reset" not in portal.client.session


def test_a_step_already_taken_shows_where_you_are(portal, jan):
    portal.to_verify(jan.user_id)
    response = portal.post("operation", operation="unlock")
    assert response.status_code == 200
    assert _h1(response) == "Verify it's you"
    assert "That step is already behind you." in _text(response)


def test_confirming_a_different_password_is_caught_before_the_engine(portal, jan):
    portal.to_verify(jan.user_id)
    portal.pass_email("jan@mail.example")
    response = portal.post("password", new_password=NEW, confirm_password=NEW + "x")
    assert "The two new passwords don't match." in _text(response)
    assert ResetFlow.objects.get().password_attempts == 0


def test_a_rejected_password_shows_every_failure_and_the_tries_left(portal, jan):
    portal.to_verify(jan.user_id)
    portal.pass_email("jan@mail.example")
    response = portal.post("password", new_password="jansen", confirm_password="jansen")
    assert response.status_code == 200
    errors = re.search(
        r'<ul class="errors" id="id_new_password_error">(.*?)</ul>', _text(response), re.S
    )
    assert errors and errors.group(1).count("<li>") >= 2
    assert "You can try 4 more times." in _text(response)
    assert re.search(r'name="new_password"[^>]*autofocus', _text(response))
    assert "jansen" not in _text(response).split("<main", 1)[1].split("requirements", 1)[1]
    for _ in range(3):
        response = portal.post("password", new_password="jansen", confirm_password="jansen")
    assert "You can try 1 more time." in _text(response)
    assert portal.post(
        "password", new_password="jansen", confirm_password="jansen"
    ).status_code == (302)
    page = portal.page()
    assert "None of the new passwords met the requirements" in _text(page)
    assert ResetFlow.objects.get().state == FlowState.BLOCKED


def test_a_directory_rejection_without_rule_failures_is_explained(portal, jan, monkeypatch):
    portal.to_verify(jan.user_id)
    portal.pass_email("jan@mail.example")

    def reject(*, handle, new_password, meta):
        raise PasswordRejectedError(get_flow(handle=handle), (), "directory:constraint")

    monkeypatch.setattr(reset_views, "set_new_password", reject)
    response = portal.post("password", new_password=NEW, confirm_password=NEW)
    assert "directory didn't accept this password" in _text(response)


def test_the_whole_organisation_switched_off_shows_its_public_code(portal, jan):
    update_policy(scope="none", admins_may_reset=False)
    portal.start(jan.user_id)
    page = portal.page()
    assert _h1(page) == "You can't reset your password right now"
    assert '<code id="public-code">OSSPR_0009</code>' in _text(page)
    assert "hasn't turned on self-service password reset" in _text(page)
    assert 'id="contact-admin"' in _text(page)


ENGINE_CODES = {
    "invalid_code": "That code isn't right.",
    "code_dead": "no longer works",
    "code_expired": "That code has expired.",
    "call_not_answered": "We haven't had your answer yet.",
    "method_unavailable": "That way to verify isn't available.",
    "operation_unavailable": "That choice isn't available.",
    "wrong_step": "That step is already behind you.",
    "directory_unavailable": "We couldn't reach the directory",
    "throttled": "too many wrong codes or answers for this account",
    "something_new": "Something went wrong. Try again.",
}


@pytest.mark.parametrize(("code", "sentence"), ENGINE_CODES.items())
def test_every_engine_refusal_has_a_sentence(portal, jan, monkeypatch, code, sentence):
    portal.to_verify(jan.user_id)
    portal.post("method", method="email", contact_email="jan@mail.example")

    def refuse(**kwargs):
        raise FlowError(code)

    monkeypatch.setattr(reset_views, "submit_verification", refuse)
    response = portal.post("answer", code="12345678")
    assert response.status_code == 200
    assert sentence in _text(response)


@pytest.mark.parametrize("code", ["flow_not_found", "flow_expired"])
def test_a_flow_that_is_gone_ends_the_session(portal, jan, monkeypatch, code):
    portal.to_verify(jan.user_id)

    def refuse(**kwargs):
        raise FlowError(code)

    monkeypatch.setattr(reset_views, "change_method", refuse)
    response = portal.post("another")
    assert _h1(response) == "Your session ended"
    assert "opensspr_reset" not in portal.client.session


def test_a_double_submission_shows_where_the_flow_is(portal, jan, monkeypatch):
    portal.to_verify(jan.user_id)

    def refuse(**kwargs):
        raise FlowError("flow_conflict")

    monkeypatch.setattr(reset_views, "change_method", refuse)
    response = portal.post("another")
    assert response.status_code == 302 and response["Location"] == "/reset/flow"
    page = portal.page()
    assert "This page was submitted twice. This is where you are now." in _text(page)
    assert _h1(page) == "Verify it's you"


def test_an_unknown_action_changes_nothing(portal, jan):
    portal.to_verify(jan.user_id)
    version = ResetFlow.objects.get().version
    assert portal.post("skip_to_password", new_password=NEW).status_code == 302
    assert ResetFlow.objects.get().version == version
    assert portal.post("password", new_password=NEW, confirm_password=NEW).status_code == 200
    assert ResetFlow.objects.get().state == FlowState.VERIFY


# --- contact your administrator ---------------------------------------------------------


@pytest.mark.parametrize(
    ("contact", "expected"),
    [
        (
            "https://help.contoso.example/it",
            'href="https://help.contoso.example/it" target="_blank" rel="noopener noreferrer"',
        ),
        ("helpdesk@contoso.example", 'href="mailto:helpdesk@contoso.example"'),
        ("", 'name="action" value="contact_admin"'),
        ("javascript:alert(1)", 'name="action" value="contact_admin"'),
    ],
)
def test_every_page_links_to_the_helpdesk_as_configured(portal, jan, contact, expected):
    update_policy(helpdesk_contact=contact)
    assert expected in _text(portal.client.get("/reset"))
    portal.start(jan.user_id)
    page = portal.page()
    assert expected in _text(page)
    assert "javascript:" not in _text(page)


def test_contact_admin_asks_the_administrators_and_says_so(portal, jan, user_factory):
    user_factory("helen@contoso.example", email="helen@contoso.example", roles=("helpdesk_admin",))
    portal.to_verify(jan.user_id)
    response = portal.post("contact_admin")
    assert response.status_code == 302 and response["Location"] == "/reset/flow"
    page = portal.page()
    assert "We've asked your administrators to help you." in _text(page)
    assert _h1(page) == "Verify it's you"
    sent = delivered(recipient="helen@contoso.example").get()
    assert sent.subject == "jan@contoso.example asked for help resetting their password"


def test_the_start_page_can_ask_for_help_too(portal, jan, user_factory):
    user_factory("helen@contoso.example", email="helen@contoso.example", roles=("password_admin",))
    response = portal.start(jan.user_id, action="contact_admin")
    assert response.status_code == 302
    assert "We've asked your administrators to help you." in _text(portal.page())
    assert delivered(recipient="helen@contoso.example").count() == 1
    assert AuditEvent.objects.filter(activity="reset.admin_help_requested").count() == 1


def test_the_portal_speaks_dutch_with_mkt(client):
    response = client.get("/reset?mkt=nl-nl")
    assert '<html lang="nl">' in _text(response)
    assert response["Content-Language"] == "nl"
    assert '<html lang="nl">' in _text(client.get("/reset"))  # kept in the session


def test_a_flow_waiting_for_the_directory_shows_the_new_password_page(portal, jan):
    """A lost directory answer leaves the flow "writing": a reload shows the same page
    (the next Finish first learns whether the earlier write arrived), never an error."""
    portal.to_verify(jan.user_id)
    portal.pass_email("jan@mail.example")
    ResetFlow.objects.filter(user=jan).update(state=FlowState.WRITING)
    page = portal.page()
    assert page.status_code == 200
    assert _h1(page) == "Choose a new password"
    assert 'name="new_password"' in _text(page)


def test_the_first_step_reads_the_same_for_an_administrator_and_anyone_else(
    portal, jan, user_factory
):
    """Issue 12 item 14: "step 1 of 1" then "step 2 of 2" read as a bug; the first step
    now names no total, for everyone, while the policy asks one gate."""
    admin = user_factory(
        "ada@contoso.example", auth_email="ada@mail.example", roles=("user_admin",)
    )
    steps = []
    for person in (jan, admin):
        portal.to_verify(person.user_id)
        steps.append(re.search(r'<p class="step">(.*?)</p>', _text(portal.page())).group(1))
    assert steps == ["Verification step 1", "Verification step 1"]
    update_policy(methods_required=2)
    portal.to_verify(jan.user_id)
    assert "Verification step 1 of 2" in _text(portal.page())


def test_every_step_shows_the_typed_user_id_with_a_way_to_start_over(portal, jan):
    """Issue 12 item 15: a typo in the user ID must show, and be fixable, on every step."""
    typo = "jna@contoso.example"
    portal.to_verify(typo)
    page = _text(portal.page())
    assert f"For the account <strong>{typo}</strong>." in page
    assert 'href="/reset?username=jna%40contoso.example" id="start-over"' in page
    response = portal.post("method", method="email", contact_email="jan@mail.example")
    text = _text(response)
    assert "check the user ID at the top of the page" in text
    assert f"<strong>{typo}</strong>" in text


def test_a_wrong_code_warns_how_many_tries_are_left(portal, jan):
    """Issue 12 item 11: five wrong codes pause reset; the person is warned before."""
    portal.to_verify(jan.user_id)
    portal.post("method", method="email", contact_email="jan@mail.example")
    warnings = []
    for _ in range(3):
        text = _text(portal.post("answer", code="00000000"))
        warnings.append(re.search(r"You can get it wrong (\d) more time", text).group(1))
    assert warnings == ["4", "3", "2"]


def test_a_page_left_open_from_an_earlier_flow_submits_nothing_to_the_newer_one(
    portal, jan, user_factory
):
    """Issue 12 item 12: the second window started a reset for someone else; the first
    window's submission must not act on it, and must say what happened."""
    piet = user_factory("piet@contoso.example", auth_email="piet@mail.example")
    portal.to_verify(jan.user_id)
    first_window_seq = re.search(r'name="flow_seq" value="(\d+)"', _text(portal.page())).group(1)
    portal.to_verify(piet.user_id)  # the second window, same browser
    response = portal.client.post(
        "/reset/flow",
        {
            "action": "method",
            "method": "email",
            "contact_email": "jan@mail.example",
            "flow_seq": first_window_seq,
        },
    )
    text = _text(response)
    assert "That page belonged to an earlier reset" in text
    assert f"<strong>{piet.user_id}</strong>" in text
    assert not delivered(recipient="jan@mail.example").exists()
    assert not delivered(recipient="piet@mail.example").exists()


def test_a_new_password_sent_again_after_the_reset_finished_says_it_is_done(portal, jan):
    portal.to_verify(jan.user_id)
    portal.pass_email("jan@mail.example")
    seq = re.search(r'name="flow_seq" value="(\d+)"', _text(portal.page())).group(1)
    portal.post("password", new_password=NEW, confirm_password=NEW)
    assert _h1(portal.page()) == "Your password has been reset"
    again = portal.client.post(
        "/reset/flow",
        {"action": "password", "new_password": NEW, "confirm_password": NEW, "flow_seq": seq},
    )
    assert again.status_code == 200
    assert "already finished in another window" in _text(again)
    assert 'id="sign-in"' in _text(again)


def test_the_done_page_offers_sign_in_not_help(portal, jan):
    """Once the password is reset, "contact your administrator" is noise: sign in instead."""
    portal.to_verify(jan.user_id)
    portal.pass_email("jan@mail.example")
    portal.post("password", new_password=NEW, confirm_password=NEW)
    page = _text(portal.page())
    assert 'id="sign-in"' in page
    assert "contact-admin" not in page
