"""Every audit event of one reset carries the flow's correlation id, whichever request wrote it."""

import pytest

from opensspr.audit.models import AuditEvent
from tests.api.conftest import NEW_PASSWORD, delivered_code

pytestmark = pytest.mark.django_db
EMAIL = "jan@mail.example"


def test_the_events_of_one_reset_share_the_flow_correlation_id(api, jan, reset_flow):
    flow = reset_flow(jan.user_id)
    sent = api.post(
        "/resets/current/verification", {"method": "email", "contact": EMAIL}, handle=flow.handle
    )
    wrong = api.post(
        "/resets/current/verification/answer", {"answer": "00000000x"}, handle=sent.handle
    )
    assert wrong.status >= 400
    passed = api.post(
        "/resets/current/verification/answer",
        {"answer": delivered_code(EMAIL)},
        handle=sent.handle,
    )
    api.post("/resets/current/password", {"new_password": NEW_PASSWORD}, handle=passed.handle)
    events = AuditEvent.objects.filter(activity__regex=r"^(reset|unlock)\.")
    activities = set(events.values_list("activity", flat=True))
    assert {"reset.started", "reset.gate_failed", "reset.completed"} <= activities
    assert events.values_list("correlation_id", flat=True).distinct().count() == 1
