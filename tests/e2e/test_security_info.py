"""Security info in real Chromium: a newcomer registers an app and a phone, keyboard only.

Time is frozen (the ``clock`` fixture) so that authenticator codes can be taken
from later time steps without waiting: a code is accepted once per step. Texts
are read from the outbox; the call is answered with the demo outbox's button.
"""

import re
from typing import Any

import pyotp
import pytest
from playwright.sync_api import expect

from opensspr.accounts.models import User
from opensspr.channels import list_outbox
from opensspr.methods.models import AuthenticatorApp
from tests.conftest import DEFAULT_PASSWORD, open_reset_policy
from tests.e2e.axe import assert_accessible
from tests.e2e.test_reset_portal import _tab_to, _watch_for_errors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_MOBILE = "+31687654321"
OFFICE = "+31205550102"


@pytest.fixture(autouse=True)
def _policy(db: Any) -> None:
    open_reset_policy(methods_required=2)


def _code(recipient: str) -> str:
    message = list_outbox(recipient=recipient).first()
    assert message is not None, f"nothing was delivered to {recipient}"
    return re.search(r"\b(\d{6,8})\b", message.plaintext_body()).group(1)


def _sign_in(page, user_id: str) -> None:
    page.goto("/signin")
    # The page focuses the user ID field itself; wait for that before typing, or a
    # busy machine loses the first keys.
    expect(page.locator("#id_user_id")).to_be_focused()
    page.keyboard.type(user_id)
    page.keyboard.press("Tab")
    page.keyboard.type(DEFAULT_PASSWORD)
    page.keyboard.press("Enter")


def test_a_newcomer_registers_an_app_and_a_phone_with_the_keyboard(page, user_factory, clock):
    user_factory("nina.new@contoso.example", display_name="Nina New")
    problems = _watch_for_errors(page)
    _sign_in(page, "nina.new@contoso.example")

    expect(page.locator("h1")).to_have_text("Keep access to your account")
    expect(page.locator("#sspr-reasons")).to_contain_text("Register at least 2 different methods")
    assert_accessible(page, "security info: interrupt")
    _tab_to(page, "#add-app")
    page.keyboard.press("Enter")

    # Just signed in with nothing registered: the password was the proof, no detour.
    expect(page.locator("h1")).to_have_text("Set up an authenticator app")
    assert_accessible(page, "app: start")
    _tab_to(page, "#app-begin")
    page.keyboard.press("Enter")
    expect(page.locator("img.qr")).to_be_visible()
    assert_accessible(page, "app: QR code")
    secret = page.locator("#app-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    _tab_to(page, "#id_code")
    page.keyboard.type("123")  # a wrong code first
    page.keyboard.press("Enter")
    expect(page.locator("#id_code_error")).to_be_visible()
    expect(page.locator("#id_code")).to_be_focused()
    assert_accessible(page, "app: wrong code")
    page.keyboard.type(totp.at(clock.now))
    page.keyboard.press("Enter")

    expect(page.locator(".notice")).to_have_text("Saved: authenticator app.")
    expect(page.locator("[id^=method-authenticator-app]")).to_contain_text("Added on")
    assert AuthenticatorApp.objects.get().confirmed_at is not None
    _tab_to(page, "#mobile-phone-change")
    page.keyboard.press("Enter")

    # The app is registered now: it must prove it's Nina before anything else changes.
    expect(page.locator("h1")).to_have_text("Verify it's you")
    expect(page.locator("label[for=id_method_0]")).to_have_text(
        "Enter a code from my authenticator app"
    )
    assert_accessible(page, "verify it's you")
    _tab_to(page, "#verify-next")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Enter your code")
    assert_accessible(page, "verify: app code")
    clock.advance(seconds=30)  # the set-up used this step's code
    _tab_to(page, "#id_code")
    page.keyboard.type(totp.at(clock.now))
    page.keyboard.press("Enter")

    expect(page.locator("h1")).to_have_text("Mobile phone")
    expect(page.locator("#id_number")).to_be_focused()
    assert_accessible(page, "mobile phone number")
    page.keyboard.type("06 8765")
    page.keyboard.press("Enter")
    expect(page.locator("#id_number_error")).to_contain_text("country code")
    assert_accessible(page, "mobile phone: bad number")
    page.fill("#id_number", "+31 6 8765 4321")
    _tab_to(page, "#phone-next")
    page.keyboard.press("Enter")

    expect(page.locator("h1")).to_have_text("Enter your code")
    expect(page.locator("#proof-intro")).to_contain_text("+31 6 •••• 4321")
    assert_accessible(page, "mobile phone: code")
    page.keyboard.type(_code(NEW_MOBILE))
    page.keyboard.press("Enter")

    expect(page.locator(".notice")).to_have_text("Saved: mobile phone.")
    expect(page.locator("#method-mobile-phone")).to_contain_text("+31 6 •••• 4321")
    expect(page.locator("#sspr-status")).to_have_text(
        "You can reset your password yourself if you forget it."
    )
    assert_accessible(page, "security info: registered")
    _tab_to(page, "#done")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Hello, Nina New")
    assert User.objects.get().mobile_phone == NEW_MOBILE
    assert not problems, problems


def test_an_office_phone_is_proven_by_answering_the_call_on_the_outbox(
    page, user_factory, settings
):
    settings.OPENSSPR_OUTBOX_PAGE = True
    open_reset_policy(methods_required=1, registration_required=False)
    user_factory("otto@contoso.example", display_name="Otto Office", auth_email="otto@mail.example")
    problems = _watch_for_errors(page)
    _sign_in(page, "otto@contoso.example")
    expect(page.locator("h1")).to_have_text("Hello, Otto Office")
    _tab_to(page, "#security-info")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Security info")
    _tab_to(page, "#office-phone-change")
    page.keyboard.press("Enter")

    expect(page.locator("h1")).to_have_text("Verify it's you")
    expect(page.locator("#id_method_0")).to_be_checked()  # the only method, chosen already
    _tab_to(page, "#verify-next")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Enter your code")
    page.keyboard.type(_code("otto@mail.example"))
    page.keyboard.press("Enter")

    expect(page.locator("h1")).to_have_text("Office phone")
    page.keyboard.type(OFFICE)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Answer the call")
    assert_accessible(page, "office phone: answer the call")
    _tab_to(page, "#proof-submit")
    page.keyboard.press("Enter")  # not answered yet
    expect(page.locator("#security-info-alert")).to_contain_text("haven't had your answer")

    outbox = page.context.new_page()
    outbox.goto("/outbox/")
    call = outbox.locator("article", has_text="To add this phone number")
    call.get_by_role("button", name="Answer the call and press #").click()
    expect(outbox.locator("h1")).to_have_text("Outbox")
    outbox.close()

    page.locator("#proof-submit").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".notice")).to_have_text("Saved: office phone.")
    expect(page.locator("#method-office-phone")).to_contain_text("+31 2 •••• 0102")
    assert User.objects.get().office_phone == OFFICE
    assert not problems, problems
