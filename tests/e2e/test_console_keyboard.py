"""The console by keyboard alone, with the focus always visible, and how one page looks.

An administrator sets up the registration campaign without touching the mouse: from the
console home to the setting, the checkbox, the numbers and Save. Every element the Tab key
reaches on the way shows where the focus is. Then the page, as saved, is compared with its
baseline picture (``baselines/``): both are scaled down to a quarter, where font smoothing
and a pixel's shade vanish but a moved, missing or overflowing block doesn't, and they must
agree within a few percent. ``OPENSSPR_UPDATE_BASELINES=1`` writes a new baseline after a
deliberate change of the look; look at it before committing it.
"""

import io
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat
from playwright.sync_api import expect

from opensspr.registration.models import RegistrationCampaign
from tests.conftest import open_reset_policy
from tests.e2e.test_console_insights import SHOTS, _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BASELINES = Path(__file__).parent / "baselines"
#: Mean difference allowed between the quarter-size pictures, in percent of full scale.
TOLERANCE = 2.0
#: The share of quarter-size pixels allowed to differ by more than a fifth of full scale.
CHANGED_SHARE = 1.0


@pytest.fixture
def admin(user_factory: Any, clock: Any) -> Any:
    open_reset_policy(methods_required=1)
    return user_factory("ada.admin@contoso.example", roles=("global_admin",))


def _focus_is_visible(page: Any) -> bool:
    """The focused element draws an outline or a ring (not none, not zero wide)."""
    return page.evaluate(
        """() => {
          const el = document.activeElement;
          if (!el || el === document.body) return false;
          const s = getComputedStyle(el);
          const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
          return outline || (s.boxShadow && s.boxShadow !== 'none');
        }"""
    )


def _tab_visibly_to(page: Any, selector: str, limit: int = 120) -> None:
    """Press Tab until ``selector`` has the focus; every stop on the way shows the focus.

    A page may have put the focus there itself (the first field of a form); past the
    page's last element the focus leaves for the browser's own controls (the body).
    """
    has_it = "(s) => !!document.activeElement?.matches(s)"
    if page.evaluate(has_it, selector):
        return
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(
            "() => document.activeElement.tagName + ' ' + (document.activeElement.id"
            " || document.activeElement.getAttribute('href') || '')"
        )
        if stop != "BODY ":
            assert _focus_is_visible(page), f"the focus is invisible on {stop}"
        if page.evaluate(has_it, selector):
            return
    raise AssertionError(f"the keyboard never reached {selector}")


def test_an_administrator_sets_up_the_campaign_with_the_keyboard_alone(
    page: Any, admin: Any
) -> None:
    _sign_in(page, admin.user_id)
    _tab_visibly_to(page, 'a[href$="/registration/registrationcampaign/"]')
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Registration campaign")
    _tab_visibly_to(page, "#id_enabled")
    page.keyboard.press("Space")
    _tab_visibly_to(page, "#id_interval_days")
    page.keyboard.press("Control+A")
    page.keyboard.type("14")
    _tab_visibly_to(page, "#id_max_reminders")
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    _tab_visibly_to(page, 'input[name="_save"]')
    page.keyboard.press("Enter")
    expect(page.locator(".messagelist")).to_contain_text("Registration campaign")
    campaign = RegistrationCampaign.objects.get()
    assert (campaign.enabled, campaign.interval_days, campaign.max_reminders) == (True, 14, 2)


def _quarter(png: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(png)).convert("L")
    return picture.resize((picture.width // 4, picture.height // 4), Image.Resampling.BOX)


def test_the_campaign_page_looks_as_it_did(page: Any, admin: Any) -> None:
    RegistrationCampaign.objects.create(pk=1, enabled=True, interval_days=7, max_reminders=3)
    _sign_in(page, admin.user_id)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/console/registration/registrationcampaign/1/change/")
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    shot = page.screenshot(full_page=False, animations="disabled", caret="hide")
    baseline = BASELINES / "console-campaign-1280.png"
    if os.environ.get("OPENSSPR_UPDATE_BASELINES") == "1":
        baseline.parent.mkdir(exist_ok=True)
        baseline.write_bytes(shot)
        pytest.skip(f"wrote {baseline}: look at it before committing it")
    assert baseline.exists(), f"no baseline: run with OPENSSPR_UPDATE_BASELINES=1 ({baseline})"
    now, then = _quarter(shot), _quarter(baseline.read_bytes())
    assert now.size == then.size, f"the page is {now.size} at a quarter, was {then.size}"
    difference = ImageChops.difference(now, then)
    mean = ImageStat.Stat(difference).mean[0] / 255 * 100
    changed = sum(difference.histogram()[52:])  # pixels more than a fifth apart
    share = changed / (now.width * now.height) * 100
    if mean > TOLERANCE or share > CHANGED_SHARE:
        SHOTS.mkdir(parents=True, exist_ok=True)
        (SHOTS / "console-campaign-1280-now.png").write_bytes(shot)
        raise AssertionError(
            f"the page differs from its baseline: mean {mean:.2f} %, {share:.2f} % of the "
            f"picture changed; see {SHOTS / 'console-campaign-1280-now.png'}"
        )
