"""Throttle blocks last their time and reach open flows; the phone budget counts real sends."""

import re

import pyotp
import pytest

from opensspr.channels import deliver_due, list_outbox
from opensspr.core.crypto import seal
from opensspr.methods.models import AuthenticatorApp
from opensspr.policy.kinds import MethodKind as K
from opensspr.resets.flow import (
    FlowBlockedError,
    FlowError,
    begin_verification,
    start_flow,
    submit_verification,
)
from opensspr.resets.models import FlowState
from tests.conftest import delivered, open_reset_policy, past_the_send_cooldown
from tests.resets import throttling as throttles

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


def test_opening_the_authenticator_gate_again_and_again_blocks_nothing(user_factory, meta, clock):
    """A21: starting the app gate sends nothing and proves nothing; only wrong codes count.
    (It used to count 5 an hour against the person and then block them for a day.)"""
    person = user_factory(auth_email="p@mail.example")
    AuthenticatorApp.objects.create(
        user=person, secret_sealed=seal(pyotp.random_base32()), confirmed_at=clock.now
    )
    view = start_flow(identifier=person.user_id, meta=meta)
    for _ in range(12):
        view = begin_verification(handle=view.handle, kind=K.APP_CODE, meta=meta)
    assert view.state == FlowState.VERIFY
    assert start_flow(identifier=person.user_id, meta=meta).state != FlowState.BLOCKED


def test_a_block_ends_flows_that_were_already_open(user_factory, meta):
    person = user_factory(auth_email="p@mail.example")
    first = start_flow(identifier=person.user_id, meta=meta)
    first = begin_verification(
        handle=first.handle, kind=K.EMAIL, contact="p@mail.example", meta=meta
    )
    code = _code("p@mail.example")
    past_the_send_cooldown()  # one code to one inbox a minute (A5)
    other = start_flow(identifier=person.user_id, meta=meta)
    other = begin_verification(
        handle=other.handle, kind=K.EMAIL, contact="p@mail.example", meta=meta
    )
    for _ in range(5):  # the short pauses after the third and the fourth waited out
        throttles.answer_wrong(other.handle, meta)
    with pytest.raises(FlowBlockedError):
        submit_verification(handle=first.handle, answer=code, meta=meta)


def test_wrong_numbers_do_not_use_up_the_phone_budget(user_factory, meta, settings):
    settings.OPENSSPR_PHONE_BUDGET_GLOBAL = 1
    for n in range(3):
        stranger = user_factory(mobile_phone=f"+3161111111{n}")
        view = start_flow(identifier=stranger.user_id, meta=meta)
        with pytest.raises(FlowError, match="contact_mismatch"):
            begin_verification(
                handle=view.handle, kind=K.MOBILE_SMS, contact="+31699999999", meta=meta
            )
    jan = user_factory(mobile_phone=MOBILE)
    view = start_flow(identifier=jan.user_id, meta=meta)
    begin_verification(handle=view.handle, kind=K.MOBILE_SMS, contact=MOBILE, meta=meta)
    assert delivered(recipient=MOBILE).count() == 1
