"""The registration report's "reset blocked until": page, rows and the CSV's last column."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from opensspr.accounts.identifiers import identifier_key
from opensspr.policy.kinds import MethodKind as K
from opensspr.reports.exports import COLUMNS
from opensspr.reports.selectors import list_registration_rows
from opensspr.resets.flow import FlowBlockedError, begin_verification, start_flow
from tests.conftest import open_reset_policy
from tests.resets import throttling as throttles

pytestmark = pytest.mark.django_db

REPORT = "/console/reports/registrations/"
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the clock fixture's
#: The columns before "reset_blocked_until" was added: scripts rely on their order.
EARLIER_COLUMNS = (
    "user_id",
    "display_name",
    "sspr_enabled",
    "sspr_registered",
    "sspr_capable",
    "reason_code",
    "methods_registered",
    "email",
    "mobile_phone",
    "office_phone",
    "authenticator_app",
    "security_questions",
    "last_confirmed",
)


@pytest.fixture
def people(user_factory, meta, clock):
    open_reset_policy(unlock_without_reset=False)
    blocked = user_factory("blocked@contoso.example", auth_email="b@mail.example")
    free = user_factory("free@contoso.example", auth_email="f@mail.example")
    view = start_flow(identifier=" Blocked@CONTOSO.example", meta=meta)
    view = begin_verification(handle=view.handle, kind=K.EMAIL, contact="b@mail.example", meta=meta)
    for _ in range(4):  # the short pauses after the third and the fourth waited out
        assert throttles.answer_wrong(view.handle, meta).code == "invalid_code"
    assert isinstance(throttles.answer_wrong(view.handle, meta), FlowBlockedError)
    # A block on an ID nobody has is in nobody's row.
    for _ in range(5):
        throttles.record_failure(
            throttles.subject_key(identifier_key("ghost@contoso.example")), clock.now
        )
    return {"blocked": blocked, "free": free}


def test_rows_carry_the_block_of_the_people_blocked(people, clock):
    rows = {row.user.user_id: row for row in list_registration_rows()}
    assert set(rows) == {"blocked@contoso.example", "free@contoso.example"}
    block = rows["blocked@contoso.example"].reset_block
    assert block.blocked_by == "verify_failure"
    # Until the first wrong code (when the fixture started) is a day old.
    assert block.blocked_until == START + timedelta(hours=24)
    assert rows["free@contoso.example"].reset_block is None
    # Capability is the policy's verdict; the block is shown beside it, not in it.
    assert rows["blocked@contoso.example"].capability.capable


def test_a_block_that_ran_out_leaves_the_column_empty(people, clock):
    clock.advance(hours=24, seconds=1)
    assert all(row.reset_block is None for row in list_registration_rows())


def test_the_page_shows_when_the_block_ends_and_why(client, people, user_factory):
    client.force_login(user_factory("viewer@contoso.example", roles=("helpdesk_admin",)))
    page = client.get(REPORT).content.decode()
    assert "Reset blocked until" in page
    cells = re.findall(r'<td class="reset-block">(.*?)</td>', page)
    assert len(cells) == 3  # blocked, free, viewer
    assert sum("too many failed verifications" in cell for cell in cells) == 1


def test_the_csv_adds_the_column_last_and_keeps_the_others(client, people, user_factory):
    client.force_login(user_factory("viewer@contoso.example", roles=("helpdesk_admin",)))
    response = client.get(REPORT, {"export": "csv"})
    table = list(csv.reader(io.StringIO(response.getvalue().decode())))
    assert tuple(table[0]) == COLUMNS == (*EARLIER_COLUMNS, "reset_blocked_until", "user_type")
    rows = {r[0]: dict(zip(COLUMNS, r, strict=True)) for r in table[1:]}
    assert rows["blocked@contoso.example"]["reset_blocked_until"] == "2026-11-24T09:00:00Z"
    assert rows["free@contoso.example"]["reset_blocked_until"] == ""
    assert rows["blocked@contoso.example"]["sspr_capable"] == "yes"
