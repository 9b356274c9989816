"""Recovery in real Chromium: "I have none of these", then the helpdesk's queue.

Screenshots go to ``OPENSSPR_SCREENSHOTS`` (default: the test's tmp directory).
"""

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from opensspr.resets.models import RecoveryRequest
from tests.conftest import DEFAULT_PASSWORD, open_reset_policy
from tests.e2e.axe import assert_accessible
from tests.e2e.test_access_pass import _shot
from tests.e2e.test_reset_portal import _start, _tab_to, _watch_for_errors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _policy(db: Any) -> None:
    open_reset_policy()


def test_a_person_asks_and_the_helpdesk_works_the_request(
    page, browser, live_server, user_factory, tmp_path
):
    user_factory("noor@contoso.example", display_name="Noor Bakker", auth_email="old@mail.example")
    helen = user_factory("helen@contoso.example", display_name="Helen", roles=("helpdesk_admin",))
    problems = _watch_for_errors(page)
    _start(page, "noor@contoso.example")
    page.click("button[value=operation]")
    expect(page.locator("h1")).to_have_text("Verify it's you")
    _tab_to(page, "#none-of-these")  # reached with the keyboard
    page.keyboard.press("Enter")

    expect(page.locator("h1")).to_have_text("Ask your helpdesk to get you back in")
    assert_accessible(page, "recovery: explanation")
    _shot(page, tmp_path, "recovery-1-ask")
    page.click("#send-recovery")
    expect(page.locator("h1")).to_have_text("Your request was sent")
    reference = page.locator("#recovery-reference").inner_text()
    assert re.fullmatch(r"R-[A-Z0-9]{6}", reference)
    assert_accessible(page, "recovery: sent")
    _shot(page, tmp_path, "recovery-2-sent")
    assert problems == []

    context = browser.new_context(base_url=live_server.url, locale="en-US")
    console = context.new_page()
    console.set_default_timeout(10_000)
    console.goto("/signin")
    console.fill("#id_user_id", helen.user_id)
    console.fill("#id_password", DEFAULT_PASSWORD)
    console.keyboard.press("Enter")
    console.wait_for_url(lambda url: "/signin" not in url)
    console.goto("/console/resets/recoveryrequest/")
    expect(console.locator("#result_list")).to_contain_text(reference)
    assert_accessible(console, "console: recovery queue")
    _shot(console, tmp_path, "recovery-3-queue")
    console.click(f"text={reference}")
    console.click("#take-request")
    console.check("input[value=callback]")
    console.fill("#id_confirm-note", "Called back on the HR number at 10:15.")
    _shot(console, tmp_path, "recovery-4-work")
    console.click("#confirm-identity")
    expect(console.locator("#identity-confirmed")).to_contain_text("HR number")
    assert_accessible(console, "console: recovery request, identity confirmed")
    _shot(console, tmp_path, "recovery-5-confirmed")
    console.click("#issue-pass")
    expect(console.locator("#access-pass")).to_have_text(re.compile(r"^\S{16}$"))
    assert RecoveryRequest.objects.get(reference=reference).state == "done"
    context.close()
