"""The console's audit log shows what happened in words, filterable by category and activity."""

import pytest

from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db
LOG = "/console/audit/auditevent/"


@pytest.fixture
def console(client, user_factory):
    admin = user_factory(roles=("global_admin",))
    response = client.post("/signin", {"user_id": admin.user_id, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return client


def _rows(response) -> str:
    return response.content.decode().split('id="result_list"', 1)[1]


def test_the_log_shows_labels_not_stored_values(console, meta):
    record_event(activity=Activity.SIGNIN_FAILED, outcome=Outcome.FAILURE, meta=meta)
    rows = _rows(console.get(LOG))
    assert "Sign-in failed" in rows
    assert "signin.failed" not in rows


def test_the_log_shows_labels_in_dutch(console, meta):
    record_event(activity=Activity.SIGNIN_FAILED, outcome=Outcome.FAILURE, meta=meta)
    console.get("/", {"mkt": "nl"})  # the language choice is kept in the session
    rows = _rows(console.get(LOG))
    assert "Aanmelden mislukt" in rows
    assert "Sign-in failed" not in rows


def test_the_log_filters_by_category(console, meta):
    record_event(activity=Activity.DELIVERY_QUEUED, outcome=Outcome.SUCCESS, meta=meta)
    record_event(activity=Activity.RESET_STARTED, outcome=Outcome.SUCCESS, meta=meta)
    rows = _rows(console.get(LOG, {"category": "delivery"}))
    assert "Message queued" in rows
    assert "Reset started" not in rows


def test_the_log_filters_by_activity(console, meta):
    record_event(activity=Activity.DELIVERY_QUEUED, outcome=Outcome.SUCCESS, meta=meta)
    record_event(activity=Activity.DELIVERY_SENT, outcome=Outcome.SUCCESS, meta=meta)
    rows = _rows(console.get(LOG, {"activity": "delivery.sent"}))
    assert "Message sent" in rows
    assert "Message queued" not in rows


def test_the_activity_filter_offers_the_chosen_categorys_labels(console):
    page = console.get(LOG, {"category": "unlock"}).content.decode()
    assert "Account unlock failed" in page
    assert "Message queued" not in page


def test_an_event_page_shows_the_label_beside_the_stored_value(console, meta):
    event = record_event(activity=Activity.UNLOCK_FAILED, outcome=Outcome.FAILURE, meta=meta)
    page = console.get(f"{LOG}{event.pk}/change/").content.decode()
    assert "Account unlock failed" in page
    assert "unlock.failed" in page  # what exports and SIEM rules match on
