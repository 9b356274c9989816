"""The registration report filters, counts and pages in SQL, over the stored decisions.

Every page's totals are exact: the people's decisions are stored
(``reports.status``) and brought up to date before the page is read.
"""

import re

import pytest

from opensspr.console.admin import reports as report_page
from tests.conftest import open_reset_policy

pytestmark = pytest.mark.django_db

REPORT = "/console/reports/registrations/"


@pytest.fixture
def viewer(user_factory, clock, monkeypatch):
    """Five people (two capable) and the viewer; two rows a page."""
    monkeypatch.setattr(report_page, "PAGE_SIZE", 2)
    open_reset_policy(methods_required=1, allow_security_questions=False)
    for n, email in enumerate(("a@mail.example", "", "c@mail.example", "", "")):
        user_factory(f"p{n}@contoso.example", auth_email=email)
    return user_factory("viewer@contoso.example", roles=("helpdesk_admin",))


def _user_ids(page: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th>', page)


def test_every_page_holds_its_rows_and_exact_totals(client, viewer):
    client.force_login(viewer)
    page = client.get(REPORT, {"page": "2"}).content.decode()
    assert _user_ids(page) == ["p2@contoso.example", "p3@contoso.example"]
    assert "6 people shown: 6 enabled by the policy, 2 registered" in page
    assert "2 capable of self-service reset" in page
    assert "Page 2 of 3" in page
    capable = re.findall(r"<td>(yes|no)(?: <span|</td>)", page)
    assert capable[2::3] == ["yes", "no"]  # enabled, registered, capable per row: p2, p3


def test_a_search_pages_and_counts_in_the_database_too(client, viewer):
    client.force_login(viewer)
    page = client.get(REPORT, {"q": "p1@"}).content.decode()
    assert _user_ids(page) == ["p1@contoso.example"]
    assert "1 person shown: 1 enabled by the policy, 0 registered" in page


def test_a_capability_filter_counts_exactly(client, viewer):
    client.force_login(viewer)
    page = client.get(REPORT, {"capable": "yes"}).content.decode()
    assert _user_ids(page) == ["p0@contoso.example", "p2@contoso.example"]
    assert re.search(r"2 people shown: \d+ enabled by the policy, 2 registered", page)


def test_a_filter_and_a_search_together(client, viewer):
    client.force_login(viewer)
    page = client.get(REPORT, {"capable": "no", "q": "p3"}).content.decode()
    assert _user_ids(page) == ["p3@contoso.example"]
    assert "1 person shown" in page


@pytest.mark.parametrize("cap", [5000, 1])
def test_a_search_pages_the_same_within_and_past_the_cap(client, viewer, monkeypatch, cap):
    """Within the cap a search is one scan then reads by key; past it, SQL pages and counts."""
    from opensspr.reports import selectors

    monkeypatch.setattr(selectors, "SEARCH_CAP", cap)
    client.force_login(viewer)
    first = client.get(REPORT, {"q": "p", "capable": "no"}).content.decode()
    second = client.get(REPORT, {"q": "p", "capable": "no", "page": "2"}).content.decode()
    assert _user_ids(first) == ["p1@contoso.example", "p3@contoso.example"]
    assert "4 people shown: 4 enabled by the policy, 0 registered" in first
    assert _user_ids(second) == ["p4@contoso.example", "viewer@contoso.example"]
    assert "Page 2 of 2" in second
