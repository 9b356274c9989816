"""The reset portal in real Chromium: keyboard only, two gates, unlock, Dutch, and axe.

Codes are read from the outbox: in these tests delivery runs right after the
request's transaction commits (tests/settings.py), so the message is there by
the time the next page has loaded.
"""

import re
from typing import Any

import pytest
from django.utils import translation
from playwright.sync_api import expect

from opensspr.channels import list_outbox
from opensspr.core.request_meta import RequestMeta
from opensspr.signin.services import SignInOutcome, sign_in
from tests.conftest import DEFAULT_PASSWORD, open_reset_policy, update_policy
from tests.e2e.axe import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW = "Copper-Kettle-Morning-84"
MOBILE = "+31612345678"
META = RequestMeta("192.0.2.20", "e2e", "e2e-reset")
CAPTCHA_BOUND_MS = 30_000  # the browser's proof of work: a hang guard


@pytest.fixture(autouse=True)
def _policy(db: Any) -> None:
    open_reset_policy()


def _in(language: str, text: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


def _code(recipient: str) -> str:
    message = list_outbox(recipient=recipient).first()
    assert message is not None, f"nothing was delivered to {recipient}"
    return re.search(r"\b(\d{6,8})\b", message.plaintext_body()).group(1)


def _tab_to(page, selector: str, limit: int = 40) -> None:
    """Press Tab until ``selector`` has the focus: proof that the keyboard reaches it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => !!document.activeElement?.matches(s)", selector):
            return
    raise AssertionError(f"the keyboard never reached {selector}")


def _watch_for_errors(page) -> list[str]:
    """Every script error and CSP violation the pages report (the favicon 404 aside)."""
    problems: list[str] = []
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation',"
        " (e) => console.error('CSP: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and not m.location.get("url", "").endswith("/favicon.ico")
            and problems.append(m.text)
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def _start(page, user_id: str, query: str = "") -> None:
    page.goto(f"/reset{query}")
    page.fill("#id_user_id", user_id)
    page.click("button.primary")  # the widget holds the submit until its check is done
    expect(page).to_have_url(re.compile(r"/reset/flow$"), timeout=CAPTCHA_BOUND_MS)


def test_a_keyboard_only_email_reset_in_english(page, user_factory):
    user_factory(
        "jan.jansen@contoso.example",
        display_name="Jan Jansen",
        auth_email="jan@mail.example",
    )
    problems = _watch_for_errors(page)
    page.goto("/signin")
    _tab_to(page, "#cant-access")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Get back into your account")
    expect(page.locator("#id_user_id")).to_be_focused()
    assert_accessible(page, "start")
    page.keyboard.type("jan.jansen@contoso.example")
    page.keyboard.press("Enter")

    expect(page.locator("h1")).to_have_text(
        "Why are you having trouble signing in?", timeout=CAPTCHA_BOUND_MS
    )
    expect(page.locator("input[value=reset]")).to_be_checked()
    assert_accessible(page, "choose operation")
    _tab_to(page, "button[value=operation]")
    page.keyboard.press("Enter")

    expect(page.locator("h1")).to_have_text("Verify it's you")
    expect(page.locator(".step")).to_have_text("Verification step 1")
    assert_accessible(page, "verify")
    _tab_to(page, "#id_contact_email")
    page.keyboard.type("jan@mail.example")
    page.keyboard.press("Enter")

    expect(page.locator("h1")).to_have_text("Enter your code")
    expect(page.locator("#id_code")).to_be_focused()
    assert_accessible(page, "code entry")
    page.keyboard.type(_code("jan@mail.example"))
    page.keyboard.press("Enter")

    expect(page.locator("h1")).to_have_text("Choose a new password")
    expect(page.locator("#id_new_password")).to_be_focused()
    page.keyboard.type("jansen")
    page.keyboard.press("Tab")
    page.keyboard.type("jansen")
    page.keyboard.press("Enter")
    expect(page.locator("#id_new_password_error")).to_be_visible()
    expect(page.locator("#tries-left")).to_have_text("You can try 4 more times.")
    expect(page.locator("#id_new_password")).to_be_focused()  # the cursor is at the first error
    assert_accessible(page, "new password with errors")
    page.keyboard.type(NEW)
    page.keyboard.press("Tab")
    page.keyboard.type(NEW)
    page.keyboard.press("Enter")

    expect(page.locator("h1")).to_have_text("Your password has been reset")
    assert_accessible(page, "done")
    _tab_to(page, "#sign-in")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Sign in")
    page.keyboard.type("jan.jansen@contoso.example")
    page.keyboard.press("Tab")
    page.keyboard.type(NEW)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Hello, Jan Jansen")
    assert problems == []


def test_an_administrator_passes_two_gates_with_email_and_text(page, user_factory):
    user_factory(
        "ada@contoso.example",
        display_name="Ada Admin",
        auth_email="ada@mail.example",
        mobile_phone=MOBILE,
        roles=("helpdesk_admin",),
    )
    _start(page, "ada@contoso.example")
    page.check("input[value=reset]")
    page.click("button[value=operation]")
    # Before a gate has passed no total is told: the same for every ID (A1), and never
    # "1 of 1" followed by "2 of 2" (issue 12, item 14).
    expect(page.locator(".step")).to_have_text("Verification step 1")
    page.check("input[value=email]")
    page.fill("#id_contact_email", "ada@mail.example")
    page.click("button[value=method]")
    page.fill("#id_code", _code("ada@mail.example"))
    page.click("button[value=answer]")

    expect(page.locator(".step")).to_have_text("Verification step 2 of 2")
    expect(page.locator("input[value=email]")).to_have_count(0)
    page.check("input[value=mobile_sms]")
    expect(page.locator("#id_contact_mobile_sms")).to_be_visible()
    expect(page.locator("#id_contact_mobile_voice")).to_be_hidden()
    page.fill("#id_contact_mobile_sms", "06 12345679")  # dialled at home, and one digit off
    page.click("button[value=method]")
    expect(page.locator("#id_contact_mobile_sms_error")).to_contain_text("doesn't match")
    expect(page.locator("#id_contact_mobile_sms_error")).to_contain_text("+31 612345678")
    assert_accessible(page, "verify with a mismatched number")
    page.fill("#id_contact_mobile_sms", "+31 6 12345678")
    page.click("button[value=method]")
    page.fill("#id_code", _code(MOBILE))
    page.click("button[value=answer]")

    expect(page.locator("h1")).to_have_text("Choose a new password")
    page.fill("#id_new_password", NEW)
    page.fill("#id_confirm_password", NEW)
    page.click("button[value=password]")
    expect(page.locator("h1")).to_have_text("Your password has been reset")
    outcome = sign_in(identifier="ada@contoso.example", password=NEW, meta=META).outcome
    assert outcome == SignInOutcome.SUCCESS


def test_a_locked_account_is_unlocked_without_a_new_password(page, user_factory):
    user_factory(
        "lena@contoso.example",
        display_name="Lena Locked",
        auth_email="lena@mail.example",
        office_phone="+31205550102",
    )
    for n in range(10):
        sign_in(identifier="lena@contoso.example", password=f"Wrong-{n}", meta=META)
    locked = sign_in(identifier="lena@contoso.example", password=DEFAULT_PASSWORD, meta=META)
    assert locked.outcome == SignInOutcome.LOCKED

    _start(page, "lena@contoso.example")
    page.check("input[value=unlock]")
    page.click("button[value=operation]")
    # A call first, to see the waiting page; then another way.
    page.check("input[value=office_voice]")
    page.fill("#id_contact_office_voice", "+31 20 555 0102")
    page.click("button[value=method]")
    expect(page.locator("h1")).to_have_text("Answer the call")
    page.click("button[value=call_done]")
    expect(page.locator("#reset-alert")).to_contain_text("We haven't had your answer yet")
    assert_accessible(page, "voice wait")
    page.click("button[value=another]")

    page.check("input[value=email]")
    page.fill("#id_contact_email", "lena@mail.example")
    page.click("button[value=method]")
    page.fill("#id_code", _code("lena@mail.example"))
    page.click("button[value=answer]")
    expect(page.locator("h1")).to_have_text("Your account is unlocked")

    page.click("#sign-in")
    page.fill("#id_user_id", "lena@contoso.example")
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Hello, Lena Locked")


def test_the_same_email_reset_in_dutch(page, user_factory):
    user_factory("maria@contoso.example", display_name="Maria Garcia", auth_email="m@mail.example")
    page.goto("/reset?mkt=nl-nl")
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.locator("h1")).to_have_text("Weer toegang krijgen tot je account")
    expect(page.locator("label[for=id_user_id]")).to_have_text("Gebruikers-id")
    assert_accessible(page, "start (Dutch)")
    page.fill("#id_user_id", "maria@contoso.example")
    page.click("button.primary")

    expect(page.locator("h1")).to_have_text(
        _in("nl", "Why are you having trouble signing in?"), timeout=CAPTCHA_BOUND_MS
    )
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    page.click("button[value=operation]")
    expect(page.locator("label[for=id_method_0]")).to_have_text(
        "Een e-mail sturen naar mijn alternatieve e-mailadres"
    )
    assert_accessible(page, "verify (Dutch)")
    page.fill("#id_contact_email", "m@mail.example")
    page.click("button[value=method]")
    expect(page.locator("h1")).to_have_text(_in("nl", "Enter your code"))
    page.fill("#id_code", _code("m@mail.example"))
    page.click("button[value=answer]")
    expect(page.locator("label[for=id_new_password]")).to_have_text("Nieuw wachtwoord")
    page.fill("#id_new_password", NEW)
    page.fill("#id_confirm_password", NEW + "!")
    page.click("button[value=password]")
    expect(page.locator("#id_confirm_password_error")).to_have_text(
        "De twee nieuwe wachtwoorden komen niet overeen."
    )
    page.fill("#id_new_password", NEW)
    page.fill("#id_confirm_password", NEW)
    page.click("button[value=password]")
    expect(page.locator("h1")).to_have_text(_in("nl", "Your password has been reset"))
    expect(page.locator("#sign-in")).to_have_text("Aanmelden")
    assert_accessible(page, "done (Dutch)")


def test_a_blocked_reset_explains_itself_and_offers_help(page, user_factory):
    update_policy(scope="none", admins_may_reset=False)
    user_factory("nora@contoso.example", auth_email="n@mail.example")
    user_factory("hugo@contoso.example", email="hugo@contoso.example", roles=("helpdesk_admin",))
    _start(page, "nora@contoso.example")
    expect(page.locator("h1")).to_have_text("You can't reset your password right now")
    expect(page.locator("#public-code")).to_have_text("OSSPR_0009")
    assert_accessible(page, "blocked")
    page.click("#contact-admin")
    expect(page.locator(".notice")).to_have_text("We've asked your administrators to help you.")
    assert list_outbox(recipient="hugo@contoso.example").count() == 1
    assert_accessible(page, "blocked, help asked")
