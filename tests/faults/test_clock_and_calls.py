"""F15 (the clock jumps) and F9 (a call nobody answers), through the reset engine.

Expiry is absolute (``expires_at``, written when the code or flow was made), so a clock
that jumps forward ends them at once and one that jumps back never makes anything valid
for good; an authenticator code is accepted one 30-second step either side, no more. A
voice gate nobody answers never passes and never redials: the person gets a clear
"answer the call" message, then the code's end, and may choose another way.
"""

import re
from datetime import timedelta

import pyotp
import pytest

from opensspr.channels.models import Message
from opensspr.core.crypto import seal
from opensspr.methods.models import AuthenticatorApp
from opensspr.policy.kinds import MethodKind as K
from opensspr.resets.flow import (
    FlowError,
    begin_verification,
    change_method,
    choose_operation,
    get_flow,
    start_flow,
    submit_verification,
)
from opensspr.resets.models import FlowState, Operation
from tests.conftest import delivered, open_reset_policy

pytestmark = pytest.mark.django_db
EMAIL = "jan@mail.example"
MOBILE = "+31612345678"


@pytest.fixture
def jan(user_factory, clock):
    open_reset_policy()
    return user_factory("jan@contoso.example", auth_email=EMAIL, mobile_phone=MOBILE)


def _at_gate(user, meta):
    view = start_flow(identifier=user.user_id, meta=meta)
    return choose_operation(handle=view.handle, operation=Operation.RESET, meta=meta)


def _code() -> str:
    body = delivered(recipient=EMAIL).order_by("-id").first().plaintext_body()
    return re.search(r"\b(\d{6,8})\b", body).group(1)


def test_a_forward_jump_ends_the_code_and_the_flow_with_a_clear_error(jan, meta, clock):
    view = _at_gate(jan, meta)
    view = begin_verification(handle=view.handle, kind=K.EMAIL, contact=EMAIL, meta=meta)
    code = _code()
    clock.advance(minutes=6)  # past the code's 5 minutes, inside the flow's 15
    with pytest.raises(FlowError, match="code_expired"):
        submit_verification(handle=view.handle, answer=code, meta=meta)
    assert get_flow(handle=view.handle).state == FlowState.VERIFY  # nothing half done
    clock.advance(minutes=10)  # past the flow's 15 minutes
    with pytest.raises(FlowError, match="flow_expired"):
        submit_verification(handle=view.handle, answer=code, meta=meta)


def test_a_backward_jump_makes_nothing_valid_for_good(jan, meta, clock):
    view = _at_gate(jan, meta)
    view = begin_verification(handle=view.handle, kind=K.EMAIL, contact=EMAIL, meta=meta)
    code = _code()
    clock.advance(hours=-1)  # an NTP step back
    clock.advance(hours=1, minutes=6)  # and forward again: the absolute expiry holds
    with pytest.raises(FlowError, match="code_expired"):
        submit_verification(handle=view.handle, answer=code, meta=meta)


def test_a_backward_jump_still_uses_a_code_only_once(jan, meta, clock):
    view = _at_gate(jan, meta)
    view = begin_verification(handle=view.handle, kind=K.EMAIL, contact=EMAIL, meta=meta)
    code = _code()
    passed = submit_verification(handle=view.handle, answer=code, meta=meta)
    assert passed.state == FlowState.NEW_PASSWORD
    clock.advance(minutes=-3)
    with pytest.raises(FlowError):
        submit_verification(handle=view.handle, answer=code, meta=meta)  # the old handle is dead


@pytest.mark.parametrize(("steps_off", "accepted"), [(0, True), (1, True), (-1, True), (2, False)])
def test_an_authenticator_code_is_accepted_one_step_either_side_and_no_further(
    jan, meta, clock, steps_off, accepted
):
    secret = pyotp.random_base32()
    AuthenticatorApp.objects.create(user=jan, secret_sealed=seal(secret), confirmed_at=clock.now)
    view = _at_gate(jan, meta)
    view = begin_verification(handle=view.handle, kind=K.APP_CODE, meta=meta)
    code = pyotp.TOTP(secret).at(clock.now + timedelta(seconds=30 * steps_off))
    if accepted:
        assert submit_verification(handle=view.handle, answer=code, meta=meta).state == (
            FlowState.NEW_PASSWORD
        )
    else:
        with pytest.raises(FlowError, match="invalid_code"):
            submit_verification(handle=view.handle, answer=code, meta=meta)


def test_a_call_nobody_answers_never_passes_and_never_redials(jan, meta, clock):
    view = _at_gate(jan, meta)
    view = begin_verification(handle=view.handle, kind=K.MOBILE_VOICE, contact=MOBILE, meta=meta)
    for _ in range(3):
        with pytest.raises(FlowError, match="call_not_answered"):
            submit_verification(handle=view.handle, answer="", meta=meta)
    assert Message.objects.filter(kind="voice").count() == 1  # one call, no redial loop
    clock.advance(minutes=6)
    with pytest.raises(FlowError, match="code_expired"):
        submit_verification(handle=view.handle, answer="", meta=meta)
    # The person may choose another way; the email gate still works.
    view = change_method(handle=view.handle, meta=meta)
    view = begin_verification(handle=view.handle, kind=K.EMAIL, contact=EMAIL, meta=meta)
    assert submit_verification(handle=view.handle, answer=_code(), meta=meta).state == (
        FlowState.NEW_PASSWORD
    )
