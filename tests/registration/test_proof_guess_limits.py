"""Guess limits on security-info proofs hold however many stale copies are checked."""

from datetime import timedelta

import pytest

from opensspr.audit.models import AuditEvent
from opensspr.core import clock as product_clock
from opensspr.methods.base import MAX_TRIES_PER_CODE
from opensspr.policy.kinds import MethodKind as K
from opensspr.registration import identity, proofs, services
from opensspr.registration.models import Proof, ProofPurpose
from opensspr.registration.proofs import ProofError
from opensspr.throttles.rules import REGISTRATION_WRONG_CODE
from tests.concurrency import needs_concurrent_writers, race
from tests.conftest import past_the_send_cooldown
from tests.registration.conftest import SESSION, code_for, prove_by_email
from tests.throttles.stored import count_uses

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_policy")]


def _wait_out(refusal: ProofError) -> None:
    """A short pause after wrong codes in a row runs out, as the person would let it."""
    if refusal.retry_after:
        product_clock.advance(timedelta(seconds=refusal.retry_after))


def _refused(call) -> str:
    with pytest.raises(ProofError) as refused:
        call()
    _wait_out(refused.value)
    return refused.value.code


# --- guess limits with stale copies -------------------------------------------------


def _stale_copies(person, meta, n):
    past_the_send_cooldown()  # one code to one inbox a minute (A5)
    identity.start_identity_proof(user=person, session=SESSION, kind=K.EMAIL, meta=meta)
    proof = proofs.get_open_proof(person, SESSION, {ProofPurpose.IDENTITY})
    return [Proof.objects.get(pk=proof.pk) for _ in range(n)], code_for(person.auth_email)


@pytest.mark.parametrize("right_at", [5, 29])
def test_stale_copies_of_a_proof_allow_five_tries_in_all(user_factory, meta, clock, right_at):
    person = user_factory(auth_email="a@mail.example")
    copies, code = _stale_copies(person, meta, 30)
    wrong = "00000000" if code != "00000000" else "11111111"
    outcomes = []
    for i, copy in enumerate(copies):
        try:
            proofs.check(copy, code if i == right_at else wrong, meta)
            outcomes.append("passed")
        except ProofError as exc:
            outcomes.append(exc.code)
            _wait_out(exc)
    assert "passed" not in outcomes, outcomes
    wrong_ones = [o for o in outcomes[:MAX_TRIES_PER_CODE] if o.startswith("invalid_code")]
    assert len(wrong_ones) == MAX_TRIES_PER_CODE - 1
    # Only five answers were compared, and every one of them is counted.
    proof = Proof.objects.get(pk=copies[0].pk)
    assert (proof.tries, proof.failures) == (MAX_TRIES_PER_CODE, MAX_TRIES_PER_CODE)
    assert AuditEvent.objects.filter(activity="registration.proof_failed").count() == 5
    assert count_uses(rule=REGISTRATION_WRONG_CODE.name) == MAX_TRIES_PER_CODE
    # A stale copy that still says "no failures" can't be marked proven either.
    assert not proofs.mark_proven(copies[-1], consume=False)


def test_the_right_code_on_the_last_try_still_passes(user_factory, meta):
    person = user_factory(auth_email="a@mail.example")
    copies, code = _stale_copies(person, meta, 5)
    wrong = "00000000" if code != "00000000" else "11111111"
    for copy in copies[:4]:
        assert _refused(lambda c=copy: proofs.check(c, wrong, meta)).startswith("invalid_code")
    proofs.check(copies[4], code, meta)
    assert proofs.mark_proven(copies[4], consume=False)


def _stale_change_copies(person, meta, n, address):
    """Stale copies of a proof of a new address (identity proofs stop at 5 a day first)."""
    prove_by_email(person, meta)
    services.start_email_change(user=person, session=SESSION, address=address, meta=meta)
    proof = proofs.get_open_proof(person, SESSION, {ProofPurpose.AUTH_EMAIL})
    return [Proof.objects.get(pk=proof.pk) for _ in range(n)], code_for(address)


def test_wrong_tries_on_stale_copies_reach_the_hourly_limit(user_factory, meta):
    person = user_factory(auth_email="a@mail.example")
    for n in range(2):
        copies, code = _stale_change_copies(
            person, meta, MAX_TRIES_PER_CODE + 3, f"new{n}@mail.example"
        )
        wrong = "00000000" if code != "00000000" else "11111111"
        for copy in copies:
            with pytest.raises(ProofError):
                proofs.check(copy, wrong, meta)
    assert (
        _refused(
            lambda: identity.start_identity_proof(
                user=person, session=SESSION, kind=K.EMAIL, meta=meta
            )
        )
        == "throttled"
    )


@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_compare_at_most_five_answers(user_factory, meta):
    needs_concurrent_writers()
    person = user_factory(auth_email="a@mail.example")
    copies, code = _stale_copies(person, meta, 12)
    wrong = "00000000" if code != "00000000" else "11111111"

    def guess(copy: Proof, answer: str):
        proofs.check(copy, answer, meta)
        return "passed"

    answers = [wrong] * (len(copies) - 1) + [code]
    calls = [lambda c=c, a=a: guess(c, a) for c, a in zip(copies, answers, strict=True)]
    outcomes = [getattr(o, "code", o) for o in race(*calls)]
    proof = Proof.objects.get(pk=copies[0].pk)
    assert len(outcomes) == len(copies)
    # At most five answers compared in all (the right one among them or not), each wrong
    # one counted; the day's counter pauses identity proofs after the third wrong one.
    assert 1 <= proof.tries <= MAX_TRIES_PER_CODE, outcomes
    assert proof.failures == proof.tries - outcomes.count("passed")
    assert AuditEvent.objects.filter(activity="registration.proof_failed").count() == (
        proof.failures
    )
