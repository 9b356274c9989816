"""The audit log's CSV and JSON-lines exports from the console: complete, formula-safe,
and themselves audited."""

import csv
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opensspr.audit.activities import Activity
from opensspr.audit.exports import in_pages
from opensspr.audit.models import AuditEvent, Outcome
from opensspr.audit.services import record_event
from opensspr.core.request_meta import RequestMeta

pytestmark = pytest.mark.django_db
CHANGELIST = "/console/audit/auditevent/"


@pytest.fixture
def admin_client(client, user_factory):
    client.force_login(user_factory(roles=("global_admin",)))
    return client


def _export(admin_client, action: str) -> bytes:
    ids = [str(pk) for pk in AuditEvent.objects.values_list("pk", flat=True)]
    response = admin_client.post(CHANGELIST, {"action": action, "_selected_action": ids})
    assert response.status_code == 200
    assert "attachment;" in response["Content-Disposition"]
    return b"".join(response.streaming_content)


def test_csv_defuses_formulas_and_names_the_stored_values(admin_client):
    """The user agent is whatever a client sent: a formula there must stay text."""
    meta = RequestMeta("192.0.2.1", '=HYPERLINK("http://evil.example")', "export-test")
    record_event(
        activity=Activity.SIGNIN_FAILED,
        outcome=Outcome.FAILURE,
        reason="wrong_password",
        meta=meta,
    )
    rows = list(csv.DictReader(io.StringIO(_export(admin_client, "export_csv").decode())))
    failed = next(row for row in rows if row["activity"] == "signin.failed")
    assert failed["user_agent"].startswith("'=HYPERLINK")
    assert failed["reason"] == "wrong_password"
    assert failed["correlation_id"] == "export-test"
    assert json.loads(failed["details"]) == {}


def test_json_lines_carry_every_selected_event_and_the_export_is_audited(admin_client, meta):
    for n in range(3):
        record_event(
            activity=Activity.SIGNIN_FAILED, outcome=Outcome.FAILURE, reason=f"r{n}", meta=meta
        )
    selected = AuditEvent.objects.count()
    lines = _export(admin_client, "export_jsonl").decode().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == selected
    assert [r["reason"] for r in records if r["activity"] == "signin.failed"] == ["r0", "r1", "r2"]
    exported = AuditEvent.objects.get(activity="audit.exported")
    assert exported.details == {"rows": selected, "format": "jsonl"}


def test_an_export_reads_its_events_a_page_at_a_time_each_once_in_order(clock):
    """Pages start after the last event of the one before, events of the same second
    included: every event once, oldest first, and each page a query of its own."""
    meta = RequestMeta("192.0.2.1", "pytest", "paged")
    for second in (0, 0, 0, 1, 1, 2, 2, 2, 2, 3):  # ties across the pages' edges
        clock.set(clock.now.replace(second=second, microsecond=0))
        record_event(activity=Activity.SIGNIN_FAILED, outcome=Outcome.FAILURE, meta=meta)
    expected = list(AuditEvent.objects.order_by("occurred_at", "id").values_list("pk", flat=True))

    with CaptureQueriesContext(connection) as queries:
        read = [event.pk for event in in_pages(AuditEvent.objects.all(), size=3)]
    assert read == expected
    assert len(queries.captured_queries) == 4  # 3 + 3 + 3 + 1 events
    assert [event.pk for event in in_pages(AuditEvent.objects.all(), size=5)] == expected
    assert list(in_pages(AuditEvent.objects.none(), size=3)) == []
