"""The account can change mid-flow: each step looks again before trusting it.

Disabled, or the number a code went to replaced (a SIM swap): the flow ends or
the gate is refused, before any answer is looked at or any password written.
"""

import re

import pytest

from opensspr.channels import deliver_due, list_outbox
from opensspr.policy.kinds import MethodKind as K
from opensspr.resets.flow import (
    FlowBlockedError,
    FlowError,
    begin_verification,
    set_new_password,
    start_flow,
    submit_verification,
)
from opensspr.resets.models import FlowState
from tests.conftest import open_reset_policy

pytestmark = pytest.mark.django_db
MOBILE = "+31612345678"


@pytest.fixture(autouse=True)
def _policy():
    open_reset_policy(unlock_without_reset=False)


def _code(recipient):
    deliver_due()
    return re.search(
        r"\b(\d{6,8})\b", list_outbox(recipient=recipient).first().plaintext_body()
    ).group(1)


def test_an_account_disabled_mid_flow_can_no_longer_pass(user_factory, meta):
    person = user_factory(mobile_phone=MOBILE)
    view = start_flow(identifier=person.user_id, meta=meta)
    view = begin_verification(handle=view.handle, kind=K.MOBILE_SMS, contact=MOBILE, meta=meta)
    code = _code(MOBILE)
    person.account_enabled = False
    person.save()
    with pytest.raises(FlowBlockedError) as blocked:
        submit_verification(handle=view.handle, answer=code, meta=meta)
    assert blocked.value.view.state == FlowState.BLOCKED


def test_a_code_sent_to_a_replaced_number_no_longer_counts(user_factory, meta):
    person = user_factory(mobile_phone=MOBILE, auth_email="p@mail.example")
    view = start_flow(identifier=person.user_id, meta=meta)
    view = begin_verification(handle=view.handle, kind=K.MOBILE_SMS, contact=MOBILE, meta=meta)
    code = _code(MOBILE)
    person.mobile_phone = "+31687654321"  # the helpdesk replaced the number (a SIM swap)
    person.save()
    with pytest.raises(FlowError, match="method_unavailable"):
        submit_verification(handle=view.handle, answer=code, meta=meta)


def test_the_password_is_not_written_for_an_account_disabled_after_the_gates(user_factory, meta):
    person = user_factory(auth_email="p@mail.example")
    view = start_flow(identifier=person.user_id, meta=meta)
    view = begin_verification(handle=view.handle, kind=K.EMAIL, contact="p@mail.example", meta=meta)
    view = submit_verification(handle=view.handle, answer=_code("p@mail.example"), meta=meta)
    person.account_enabled = False
    person.save()
    with pytest.raises(FlowBlockedError):
        set_new_password(handle=view.handle, new_password="Copper-Kettle-Morning-84", meta=meta)
