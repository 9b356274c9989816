"""Every console page, found from the URL configuration, in real Chromium, in English and Dutch.

The pages are not listed by hand: every console URL that takes no argument,
and every page of one object of every registered model (change, history, delete
and the pages an admin adds, such as a user's activity), is visited. So a
page added later is checked without anyone remembering to add it. Each must
answer without an error, pass axe-core (WCAG 2.2 A and AA) and fit the window
sideways at 1280 px and at 375 px.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, reverse

from opensspr.agents.services import create_agent
from opensspr.console.site import console_site
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.directory.models import DirectorySettings
from opensspr.policy.models import CustomQuestion
from opensspr.resets.models import RecoveryRequest
from tests.conftest import open_reset_policy
from tests.e2e.axe import assert_accessible
from tests.e2e.test_console_insights import _fits, _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: URL names that are not pages a person reads, each with the reason.
NOT_PAGES = {
    "logout": "signs out (POST)",
    "jsi18n": "JavaScript catalogue",
    "autocomplete": "JSON for select widgets",
    "view_on_site": "redirects to the portal",
    "login": "the console signs in through the portal's sign-in page",
    "accounts_user_lift_reset_block": "lifts the block (POST, from the user's page)",
}
#: Name endings of URLs that answer with a file, not a page.
DOWNLOADS = ("_export", "_csv", "_download", "_jsonl")


def _pages(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    """Names of the console's URL patterns that need no argument."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.pattern.regex.groups:
                continue
            yield from _pages(entry.url_patterns, prefix)
        elif isinstance(entry, URLPattern) and entry.name and not entry.pattern.regex.groups:
            yield entry.name


def _console_urls() -> list[str]:
    urls = []
    for name in sorted(set(_pages(console_site.get_urls()))):
        if name in NOT_PAGES or name.endswith(DOWNLOADS):
            continue
        urls.append(reverse(f"console:{name}"))
    for model, model_admin in console_site._registry.items():
        # The newest: for users, a member the administrator may act on, not themselves.
        last = model._default_manager.order_by("pk").last()
        if last is not None:
            urls += _object_pages(model_admin.get_urls(), last.pk)
    return sorted(set(urls))


def _object_pages(patterns: list[Any], pk: Any) -> list[str]:
    """Every page of one object (change, history, delete, and each page an admin adds).

    Patterns taking the object's key alone, filled with ``pk``.
    """
    urls = []
    for entry in patterns:
        if not isinstance(entry, URLPattern) or not entry.name or entry.pattern.regex.groups != 1:
            continue
        if entry.name in NOT_PAGES or entry.name.endswith(DOWNLOADS):
            continue
        urls.append(reverse(f"console:{entry.name}", args=[pk]))
    return urls


@pytest.fixture
def organisation(user_factory: Any) -> Any:
    open_reset_policy(methods_required=1)
    admin = user_factory("ada.admin@contoso.example", roles=("global_admin",))
    user_factory("mia.mail@contoso.example", auth_email="mia@mail.example")
    user_factory("bob@contoso.example", mobile_phone="+31 6 12345678")
    CustomQuestion.objects.create(text="What was the name of your first pet?")
    DirectorySettings.objects.get_or_create(pk=1)
    meta = RequestMeta("192.0.2.10", "crawl", "crawl-correlation")
    create_agent(name="Branch office agent", actor=admin, meta=meta)
    RecoveryRequest.objects.create(  # opens the queue's page of one request too
        reference="R7K2QX",
        user=user_factory("lost@contoso.example"),
        created_at=clock.now(),
        correlation_id="crawl-correlation",
    )
    return admin


@pytest.mark.parametrize("locale", ["en-US", "nl-NL"])
def test_every_console_page_is_accessible_and_fits(
    browser: Any, live_server: Any, organisation: Any, locale: str
) -> None:
    context = browser.new_context(base_url=live_server.url, locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    failures: list[str] = []
    try:
        _sign_in(
            page, organisation.user_id, skip="Skip for now" if locale == "en-US" else "Nu overslaan"
        )
        urls = _console_urls()
        assert len(urls) > 20, urls  # the discovery found the console
        for url in urls:
            response = page.goto(url)
            assert response is not None
            if response.status == 403 and url.endswith(("/add/", "/delete/")):
                continue  # a log or a single settings row: nothing to add or delete, no link
            if response.status >= 400:
                failures.append(f"{url}: HTTP {response.status}")
                continue
            try:
                assert_accessible(page, f"{url} ({locale})")
                _fits(page, "crawl" + url.replace("/", "-").rstrip("-") + f"-{locale}")
            except AssertionError as problem:
                failures.append(f"{url}: {problem}")
    finally:
        context.close()
    assert not failures, "\n\n".join(failures)
