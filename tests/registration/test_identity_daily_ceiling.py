"""Issue 12 item 4: identity-proof guesses have a 24-hour ceiling, shared with the reset.

Someone who has the password could try 10 wrong codes an hour, about 240 a day
against an authenticator app. Now every wrong identity-proof answer counts
against the typed user ID's 24-hour verification failures, the very counter
the reset flow uses: at most 5 are compared in 24 hours across both, a 5th
wrong one blocks both for 24 hours, and the person is told by email and text.
"""

from datetime import timedelta

import pyotp
import pytest

from opensspr.audit.models import AuditEvent
from opensspr.core import clock as product_clock
from opensspr.core.crypto import seal
from opensspr.methods.models import AuthenticatorApp
from opensspr.policy.kinds import MethodKind as K
from opensspr.registration import identity
from opensspr.registration.proofs import ProofError
from opensspr.resets.flow import (
    FlowError,
    begin_verification,
    choose_operation,
    start_flow,
    submit_verification,
)
from opensspr.resets.models import FlowState, Operation
from opensspr.signin.services import SignInOutcome, sign_in
from tests.conftest import DEFAULT_PASSWORD, delivered
from tests.registration.conftest import MOBILE, SESSION, code_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_policy")]
WRONG = "00000000"


def _minutes_later() -> None:
    """Past one inbox's send cooldown and cap (3 codes in 15 minutes, attack A5)."""
    product_clock.advance(timedelta(minutes=6))


def _refused(call) -> str:
    """The refusal's code; a short pause after wrong codes in a row is waited out."""
    with pytest.raises(ProofError) as refused:
        call()
    if refused.value.retry_after:
        product_clock.advance(timedelta(seconds=refused.value.retry_after))
    return refused.value.code


#: Four wrong codes in a row: the third and the fourth pause proofs a little (A21).
FOUR_WRONG = ["invalid_code", "invalid_code", "invalid_code_paused", "invalid_code_paused"]


def _wrong_email_codes(person, meta, count):
    """``count`` wrong answers to one emailed identity code (at most 5 tries a code)."""
    _minutes_later()
    identity.start_identity_proof(user=person, session=SESSION, kind=K.EMAIL, meta=meta)
    return [
        _refused(
            lambda: identity.finish_identity_proof(
                user=person, session=SESSION, answer=WRONG, meta=meta
            )
        )
        for _ in range(count)
    ]


@pytest.fixture
def person(user_factory, meta):
    """Signed in, as whoever proves their identity for security info is: this network is
    familiar to them now, so their reset from it shares the day's counter (the reset from
    elsewhere counts apart, attack A21)."""
    someone = user_factory(auth_email="p@mail.example", mobile_phone=MOBILE)
    assert sign_in(identifier=someone.user_id, password=DEFAULT_PASSWORD, meta=meta).outcome == (
        SignInOutcome.SUCCESS
    )
    return someone


def test_five_wrong_identity_codes_in_a_day_block_proofs_and_the_reset(person, meta, clock):
    assert _wrong_email_codes(person, meta, 4) == FOUR_WRONG
    clock.advance(hours=2)  # the hourly limit (10) is far away; the day's is not
    # The 5th wrong answer of the day is compared, then blocks; the 6th isn't compared.
    assert _wrong_email_codes(person, meta, 2) == ["blocked_today", "blocked_today"]
    clock.advance(hours=20)
    _minutes_later()
    refused = _refused(
        lambda: identity.start_identity_proof(user=person, session=SESSION, kind=K.EMAIL, meta=meta)
    )
    assert refused == "blocked_today"  # nothing is sent while blocked
    # The reset's email gate is paused too (the same counter, the same way of verifying).
    flow = start_flow(identifier=person.user_id, meta=meta)
    if flow.state == FlowState.CHOOSE_OPERATION:
        flow = choose_operation(handle=flow.handle, operation=Operation.RESET, meta=meta)
    with pytest.raises(FlowError, match="method_paused"):
        begin_verification(handle=flow.handle, kind=K.EMAIL, contact="p@mail.example", meta=meta)


def test_the_person_is_told_once_by_email_and_text(person, meta, clock):
    _wrong_email_codes(person, meta, 5)
    told = delivered().filter(purpose="registration.identity_blocked")
    assert sorted(m.recipient for m in told) == [MOBILE, "p@mail.example"]
    body = told.get(kind="email").plaintext_body()
    assert "wrong" in body and "24 hours" in body and WRONG not in body
    event = AuditEvent.objects.get(activity="registration.identity_blocked")
    assert event.outcome == "failure"


def test_wrong_reset_codes_count_against_identity_proofs_too(person, meta, clock):
    for _ in range(4):
        _minutes_later()
        flow = start_flow(identifier=person.user_id, meta=meta)
        if flow.state == FlowState.CHOOSE_OPERATION:
            flow = choose_operation(handle=flow.handle, operation=Operation.RESET, meta=meta)
        flow = begin_verification(
            handle=flow.handle, kind=K.EMAIL, contact="p@mail.example", meta=meta
        )
        with pytest.raises(FlowError):
            submit_verification(handle=flow.handle, answer=WRONG, meta=meta)
    assert _wrong_email_codes(person, meta, 1) == ["blocked_today"]


def test_a_right_code_is_not_counted(person, meta, clock):
    for _ in range(6):
        _minutes_later()
        identity.start_identity_proof(user=person, session=SESSION, kind=K.EMAIL, meta=meta)
        identity.finish_identity_proof(
            user=person, session=SESSION, answer=code_for("p@mail.example"), meta=meta
        )
    assert start_flow(identifier=person.user_id, meta=meta).state != FlowState.BLOCKED


def test_authenticator_guesses_stop_at_five_a_day(person, meta, clock):
    """Half-hourly guesses, under the hourly limit: the day's ceiling stops them at 5."""
    secret = pyotp.random_base32()
    AuthenticatorApp.objects.create(user=person, secret_sealed=seal(secret), confirmed_at=clock.now)
    answers = []
    for _ in range(5):
        clock.advance(minutes=30)
        identity.start_identity_proof(user=person, session=SESSION, kind=K.APP_CODE, meta=meta)
        # Another tab opens a proof too, before the block: it must not pass afterwards.
        identity.start_identity_proof(user=person, session="other", kind=K.APP_CODE, meta=meta)
        answers.append(
            _refused(
                lambda: identity.finish_identity_proof(
                    user=person, session=SESSION, answer="000000", meta=meta
                )
            )
        )
    assert answers == [*FOUR_WRONG, "blocked_today"]
    again = _refused(
        lambda: identity.start_identity_proof(
            user=person, session=SESSION, kind=K.APP_CODE, meta=meta
        )
    )
    assert again == "blocked_today"
    # A proof opened before the block answers nothing: the right code isn't even compared.
    right = pyotp.TOTP(secret).at(clock.now)
    refused = _refused(
        lambda: identity.finish_identity_proof(
            user=person, session="other", answer=right, meta=meta
        )
    )
    assert refused == "blocked_today"


def test_wrong_codes_in_a_row_pause_proofs_briefly_without_telling_anyone(person, meta, clock):
    _minutes_later()
    identity.start_identity_proof(user=person, session=SESSION, kind=K.EMAIL, meta=meta)

    def wrong():
        with pytest.raises(ProofError) as refused:
            identity.finish_identity_proof(user=person, session=SESSION, answer=WRONG, meta=meta)
        return refused.value.code, refused.value.retry_after

    assert [wrong(), wrong(), wrong()] == [
        ("invalid_code", None),
        ("invalid_code", None),
        ("invalid_code_paused", 30),
    ]
    # During the pause nothing is compared, not even the right code.
    compared = AuditEvent.objects.filter(activity="registration.proof_failed").count()
    assert wrong() == ("paused", 30)
    code = code_for("p@mail.example")
    with pytest.raises(ProofError, match="paused"):
        identity.finish_identity_proof(user=person, session=SESSION, answer=code, meta=meta)
    assert AuditEvent.objects.filter(activity="registration.proof_failed").count() == compared
    # A pause is no block: nobody is told, and once it ends the same code works.
    assert not delivered().filter(purpose="registration.identity_blocked").exists()
    clock.advance(seconds=31)
    identity.finish_identity_proof(user=person, session=SESSION, answer=code, meta=meta)
