"""The registration report pages in SQL when no filter needs each person's decision.

Unfiltered or searched, only the page's people are decided (time independent of
the directory's size); the unfiltered totals are the last registration count,
shown with its time. A capability filter still decides everyone, exactly.
"""

import re

import pytest

from opensspr.console.admin import reports as report_page
from opensspr.reports.rollup import today
from opensspr.reports.snapshot import take_snapshot
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


def test_an_unfiltered_page_holds_its_rows_and_the_last_count(client, viewer):
    take_snapshot(today())
    client.force_login(viewer)
    page = client.get(REPORT, {"page": "2"}).content.decode()
    assert _user_ids(page) == ["p2@contoso.example", "p3@contoso.example"]
    assert "6 people shown." in page
    assert "At the last count (" in page
    assert "2 capable of self-service reset" in page
    assert "Page 2 of 3" in page
    capable = re.findall(r"<td>(yes|no)(?: <span|</td>)", page)
    assert capable[2::3] == ["yes", "no"]  # enabled, registered, capable per row: p2, p3


def test_without_a_count_the_page_says_only_how_many(client, viewer):
    client.force_login(viewer)
    page = client.get(REPORT).content.decode()
    assert "6 people shown." in page and "At the last count" not in page


def test_a_search_pages_in_the_database_too(client, viewer):
    take_snapshot(today())
    client.force_login(viewer)
    page = client.get(REPORT, {"q": "p1@"}).content.decode()
    assert _user_ids(page) == ["p1@contoso.example"]
    assert "1 person shown." in page and "At the last count" not in page


def test_a_capability_filter_counts_exactly(client, viewer):
    client.force_login(viewer)
    page = client.get(REPORT, {"capable": "yes"}).content.decode()
    assert _user_ids(page) == ["p0@contoso.example", "p2@contoso.example"]
    assert re.search(r"2 people shown: \d+ enabled by the policy, 2 registered", page)
