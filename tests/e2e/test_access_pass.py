"""A temporary access pass in real Chromium: issued from the console, used to register.

Helen (helpdesk administrator) issues Noor a pass from Noor's console page, copies it,
and Noor signs in with it at "Sign in with a temporary access pass", lands in security
info and registers an email address. Screenshots go to ``OPENSSPR_SCREENSHOTS`` (default:
the test's tmp directory) for a person to look at.
"""

import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from opensspr.channels import list_outbox
from tests.conftest import DEFAULT_PASSWORD, open_reset_policy
from tests.e2e.axe import assert_accessible
from tests.e2e.test_reset_portal import _watch_for_errors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _policy(db: Any) -> None:
    open_reset_policy()


def _shot(page, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("OPENSSPR_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _code(recipient: str) -> str:
    message = list_outbox(recipient=recipient).first()
    assert message is not None, f"nothing was delivered to {recipient}"
    return re.search(r"\b(\d{6,8})\b", message.plaintext_body()).group(1)


def test_a_pass_is_issued_in_the_console_and_used_to_register(
    page, browser, live_server, user_factory, tmp_path
):
    helen = user_factory("helen@contoso.example", display_name="Helen", roles=("helpdesk_admin",))
    noor = user_factory("noor@contoso.example", display_name="Noor Bakker")
    problems = _watch_for_errors(page)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])

    page.goto("/signin")
    page.fill("#id_user_id", helen.user_id)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/signin" not in url)
    page.goto(f"/console/accounts/user/{noor.pk}/change/")
    expect(page.locator("#access-pass-status")).to_contain_text("No temporary access pass.")
    page.click("#tool-access-pass")

    expect(page.locator("h1")).to_have_text("Issue a temporary access pass")
    expect(page.locator("#id_lifetime_minutes")).to_have_value("60")
    expect(page.locator("#id_one_time")).to_be_checked()
    assert_accessible(page, "console: issue a pass")
    _shot(page, tmp_path, "tap-1-confirm")
    page.click("#issue-pass")

    passcode = page.locator("#access-pass").inner_text().strip()
    assert len(passcode) == 16
    expect(page.locator("#pass-facts")).to_contain_text("One-time use, valid until")
    page.click("#copy-pass")
    expect(page.locator("#copy-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == passcode
    assert_accessible(page, "console: the pass, shown once")
    _shot(page, tmp_path, "tap-2-issued")
    page.goto(f"/console/accounts/user/{noor.pk}/change/")
    expect(page.locator("#access-pass-status")).to_contain_text("active, one-time")
    _shot(page, tmp_path, "tap-0-user-page")
    assert passcode not in page.content()
    page.click("#tool-activity")
    expect(page.locator("#activity")).to_contain_text("Temporary access pass issued")
    assert_accessible(page, "console: recent activity")
    _shot(page, tmp_path, "tap-6-activity")
    page.goto(f"/console/accounts/user/{noor.pk}/change/")
    page.click("#tool-unlock")
    expect(page.locator("#helpdesk-consequences")).to_contain_text("lockout ends at once")
    assert_accessible(page, "console: unlock confirmation")
    _shot(page, tmp_path, "tap-7-unlock")
    assert problems == []

    # Noor, in her own browser, on the sign-in page, finds the pass's own way in.
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems = _watch_for_errors(page)
    page.goto("/signin")
    page.click("#use-access-pass")
    expect(page.locator("h1")).to_have_text("Sign in with a temporary access pass")
    assert_accessible(page, "sign in with a temporary access pass")
    page.fill("#id_user_id", noor.user_id)
    page.fill("#id_passcode", passcode)
    _shot(page, tmp_path, "tap-3-sign-in")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/security-info$"))
    expect(page.locator("#access-pass-intro")).to_be_visible()
    assert_accessible(page, "security info opened with a pass")
    _shot(page, tmp_path, "tap-4-security-info")
    page.click("#email-change")
    page.fill("#id_address", "noor@mail.example")
    page.click("#email-next")
    page.fill("#id_code", _code("noor@mail.example"))
    page.click("#proof-submit")
    expect(page.locator("#method-email")).to_contain_text("n")
    expect(page.locator("#access-pass-done")).to_be_visible()
    _shot(page, tmp_path, "tap-5-registered")

    page.goto("/password/change")  # the pass's session reaches nothing else
    expect(page).to_have_url(re.compile(r"/security-info$"))
    page.click("#access-pass-done")
    expect(page).to_have_url(re.compile(r"/signin$"))
    noor.refresh_from_db()
    assert noor.auth_email == "noor@mail.example"
    assert problems == []
    context.close()
