"""The console home and the usage and insights page in real Chromium.

A known week of resets (``tests/reports/usage_population``) is rolled up; an
administrator signs in and reads the home and the insights: axe-core finds no
WCAG violation, nothing overflows sideways at 1280 px or at 375 px, the charts
carry their names and the downloads are offered. Screenshots go to
``var/screenshots`` for a person to look at.
"""

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from opensspr.audit.models import AuditEvent
from opensspr.reports.models import ReportSettings
from opensspr.reports.rollup import rollup_recent, today
from opensspr.reports.snapshot import take_snapshot
from tests.conftest import DEFAULT_PASSWORD, open_reset_policy
from tests.e2e.axe import assert_accessible
from tests.e2e.test_reset_portal import _tab_to, _watch_for_errors
from tests.reports.usage_population import seed_usage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
WIDTHS = (1280, 375)


@pytest.fixture
def admin(user_factory: Any, clock: Any) -> Any:
    open_reset_policy(methods_required=1)
    ReportSettings.objects.get_or_create(pk=1)
    admin = user_factory("ada.admin@contoso.example", roles=("global_admin",))
    user_factory("mia.mail@contoso.example", auth_email="mia@mail.example")
    user_factory("nico.none@contoso.example")
    alice = user_factory("alice@contoso.example", mobile_phone="+31 6 12345678")
    seed_usage(alice, user_factory("bob@contoso.example"))
    AuditEvent.objects.filter(activity__startswith="directory.").delete()
    rollup_recent()
    take_snapshot(today())
    return admin


def _sign_in(page: Any, user_id: str, *, skip: str = "Skip for now") -> None:
    page.goto("/signin?next=/console/")
    page.fill("#id_user_id", user_id)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.keyboard.press("Enter")
    # An administrator without two methods is asked to register them first (reference §3).
    page.get_by_role("button", name=skip).click()
    page.wait_for_url("**/console/")


def _fits(page: Any, name: str) -> None:
    """No sideways scrolling at either width; a full-page screenshot of each."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 0:
            widest = page.evaluate(
                "() => [...document.querySelectorAll('body *')]"
                ".filter(e => e.getBoundingClientRect().right > innerWidth)"
                ".slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className)"
            )
            raise AssertionError(f"{name} is {overflow} px too wide at {width} px: {widest}")
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


def test_the_home_shows_self_service_at_a_glance(page: Any, admin: Any) -> None:
    problems = _watch_for_errors(page)
    _sign_in(page, admin.user_id)
    expect(page.locator("#glance-h")).to_have_text("Self-service password reset at a glance")
    expect(page.locator("#glance-share")).to_contain_text("40%")  # 2 of 5 can reset
    expect(page.locator(".home-actions")).to_contain_text("Only 40% of people can reset")
    assert_accessible(page, "console home")
    _fits(page, "console-home")
    assert not problems


def test_the_insights_page_charts_and_tables(page: Any, admin: Any) -> None:
    problems = _watch_for_errors(page)
    _sign_in(page, admin.user_id)
    page.get_by_role("link", name="Open usage and insights").click()
    expect(page.locator("h1")).to_have_text("Usage and insights")
    expect(page.locator("#figure-resets")).to_have_text("4")
    expect(page.locator("#figure-median")).to_have_text("90 seconds")
    expect(page.locator("#figure-avoided")).to_contain_text("EUR 125.00")
    # Each chart is drawn twice, for wide screens and for phones; CSS shows one.
    wide = page.locator(".chart-wide")
    expect(wide.get_by_role("img", name="Self-service per day")).to_be_visible()
    expect(wide.get_by_role("img", name="Resets and unlocks by method")).to_be_visible()
    page.get_by_text("Show the figures per day").first.click()
    expect(page.locator("#daily-table")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download failures as CSV").click()
    assert download.value.suggested_filename.startswith("insights-failures-")
    assert_accessible(page, "usage and insights")
    _fits(page, "console-insights")
    assert not problems


def test_in_dutch_nothing_overflows_either(browser: Any, live_server: Any, admin: Any) -> None:
    """Dutch words are longer: the tables and figures must still fit a phone."""
    context = browser.new_context(base_url=live_server.url, locale="nl-NL")
    page = context.new_page()
    try:
        problems = _watch_for_errors(page)
        _sign_in(page, admin.user_id, skip="Nu overslaan")
        expect(page.locator("#glance-h")).to_have_text(
            "Zelf wachtwoord herstellen in één oogopslag"
        )
        _fits(page, "console-home-nl")
        page.get_by_role("link", name="Gebruik en inzichten openen").click()
        expect(page.locator("h1")).to_have_text("Gebruik en inzichten")
        page.get_by_text("Cijfers per dag tonen").first.click()
        assert_accessible(page, "usage and insights (Dutch)")
        _fits(page, "console-insights-nl")
        assert not problems
    finally:
        context.close()


def test_the_keyboard_reaches_the_period_the_tables_and_the_downloads(
    page: Any, admin: Any
) -> None:
    _sign_in(page, admin.user_id)
    page.goto("/console/reports/insights/")
    _tab_to(page, 'a[href="?days=7"]', limit=80)
    page.keyboard.press("Enter")
    page.wait_for_url("**/insights/?days=7")
    expect(page.locator(".insights-periods [aria-current=page]")).to_have_text("Last 7 days")
    _tab_to(page, "#usage-h ~ details summary", limit=80)
    page.keyboard.press("Enter")
    expect(page.locator("#daily-table")).to_be_visible()
    _tab_to(page, 'a[href$="export=daily"]', limit=80)
