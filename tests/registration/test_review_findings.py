"""Findings of the security review of security info, each shown fixed.

1. An identity proof counts only through the value its code went to, and a
   change or removal ends every other session's proofs and windows.
2. Guess limits hold however many stale copies of a proof are checked.
3. One number can't become both mobile and office phone, even in a race.
4. Every change is also texted to the registered mobile number.
"""

from dataclasses import replace

import pytest

from opensspr.audit.models import AuditEvent
from opensspr.methods.base import MAX_TRIES_PER_CODE
from opensspr.policy.kinds import MethodKind as K
from opensspr.registration import identity, proofs, services
from opensspr.registration.admin_services import set_authentication_contact
from opensspr.registration.models import Proof, ProofPurpose
from opensspr.registration.notify import Item
from opensspr.registration.proofs import ProofError
from tests.concurrency import needs_concurrent_writers, race
from tests.conftest import delivered
from tests.registration.conftest import (
    MOBILE,
    NEW_MOBILE,
    OFFICE,
    SESSION,
    code_for,
    prove_by_email,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_policy")]

OTHER = "other-session-digest"


def _refused(call) -> str:
    with pytest.raises(ProofError) as refused:
        call()
    return refused.value.code


def _prove_by_text(person, meta, session=SESSION):
    identity.start_identity_proof(user=person, session=session, kind=K.MOBILE_SMS, meta=meta)
    identity.finish_identity_proof(
        user=person, session=session, answer=code_for(person.mobile_phone), meta=meta
    )


# --- 1. identity proofs and the value they went to -----------------------------------


def test_a_code_sent_to_a_number_since_replaced_proves_nothing(user_factory, meta):
    person = user_factory(auth_email="a@mail.example", mobile_phone=MOBILE)
    identity.start_identity_proof(user=person, session=SESSION, kind=K.MOBILE_SMS, meta=meta)
    code = code_for(MOBILE)
    # Replaced, not emptied (say a SIM swap reported to the helpdesk, synced in).
    person.mobile_phone = NEW_MOBILE
    person.save(update_fields=["mobile_phone"])
    finish = lambda: identity.finish_identity_proof(  # noqa: E731
        user=person, session=SESSION, answer=code, meta=meta
    )
    assert _refused(finish) == "method_unavailable"
    assert not identity.has_fresh_identity(person, SESSION)
    # The proof is over: the number coming back changes nothing.
    person.mobile_phone = MOBILE
    person.save(update_fields=["mobile_phone"])
    assert _refused(finish) == "no_open_proof"


def test_a_window_opened_through_a_number_since_replaced_is_not_fresh(user_factory, meta):
    person = user_factory(mobile_phone=MOBILE)
    _prove_by_text(person, meta)
    assert identity.has_fresh_identity(person, SESSION)
    # Written straight to the directory user: the stored digest alone notices.
    person.mobile_phone = NEW_MOBILE
    person.save(update_fields=["mobile_phone"])
    assert not identity.has_fresh_identity(person, SESSION)
    assert identity.fresh_until(person, SESSION) is None


def test_a_removal_ends_other_sessions_windows_and_codes(user_factory, meta):
    person = user_factory(auth_email="a@mail.example", mobile_phone=MOBILE, office_phone=OFFICE)
    _prove_by_text(person, meta, session=OTHER)
    services.start_email_change(user=person, session=OTHER, address="b@mail.example", meta=meta)
    pending = code_for("b@mail.example")
    prove_by_email(person, meta)
    services.remove_method(user=person, session=SESSION, item=Item.OFFICE_PHONE, meta=meta)
    assert identity.has_fresh_identity(person, SESSION)  # the acting session keeps its own
    assert not identity.has_fresh_identity(person, OTHER)
    assert (
        _refused(
            lambda: services.finish_contact_change(
                user=person, session=OTHER, answer=pending, meta=meta
            )
        )
        == "no_open_proof"
    )
    person.refresh_from_db()
    assert person.auth_email == "a@mail.example"


def test_removing_the_value_a_window_was_opened_with_ends_that_window(user_factory, meta):
    person = user_factory(auth_email="a@mail.example", mobile_phone=MOBILE)
    prove_by_email(person, meta)
    services.remove_method(user=person, session=SESSION, item=Item.AUTH_EMAIL, meta=meta)
    assert not identity.has_fresh_identity(person, SESSION)


def test_an_administrators_change_ends_every_window(user_factory, meta):
    person = user_factory(auth_email="a@mail.example", mobile_phone=MOBILE)
    prove_by_email(person, meta, session=OTHER)
    identity.start_identity_proof(user=person, session=SESSION, kind=K.EMAIL, meta=meta)
    code = code_for("a@mail.example")
    admin = user_factory(roles=("authentication_admin",))
    # Not the value the window was opened with: every window ends all the same.
    set_authentication_contact(actor=admin, user=person, values={"office_phone": OFFICE}, meta=meta)
    assert not identity.has_fresh_identity(person, OTHER)
    assert (
        _refused(
            lambda: identity.finish_identity_proof(
                user=person, session=SESSION, answer=code, meta=meta
            )
        )
        == "no_open_proof"
    )


def test_the_person_changing_the_value_they_proved_with_keeps_their_window(user_factory, meta):
    person = user_factory(auth_email="a@mail.example")
    prove_by_email(person, meta, session=OTHER)
    prove_by_email(person, meta)
    services.start_email_change(user=person, session=SESSION, address="b@mail.example", meta=meta)
    services.finish_contact_change(
        user=person, session=SESSION, answer=code_for("b@mail.example"), meta=meta
    )
    assert identity.has_fresh_identity(person, SESSION)
    assert not identity.has_fresh_identity(person, OTHER)


# --- 2. guess limits with stale copies -------------------------------------------------


def _stale_copies(person, meta, n):
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
    assert "passed" not in outcomes, outcomes
    assert outcomes[:MAX_TRIES_PER_CODE].count("invalid_code") == MAX_TRIES_PER_CODE - 1
    # Only five answers were compared, and every one of them is counted.
    proof = Proof.objects.get(pk=copies[0].pk)
    assert (proof.tries, proof.failures) == (MAX_TRIES_PER_CODE, MAX_TRIES_PER_CODE)
    assert AuditEvent.objects.filter(activity="registration.proof_failed").count() == 5
    assert proofs.failures_in_last_hour(person, clock.now) == MAX_TRIES_PER_CODE
    # A stale copy that still says "no failures" can't be marked proven either.
    assert not proofs.mark_proven(copies[-1], consume=False)


def test_the_right_code_on_the_last_try_still_passes(user_factory, meta):
    person = user_factory(auth_email="a@mail.example")
    copies, code = _stale_copies(person, meta, 5)
    wrong = "00000000" if code != "00000000" else "11111111"
    for copy in copies[:4]:
        assert _refused(lambda c=copy: proofs.check(c, wrong, meta)) == "invalid_code"
    proofs.check(copies[4], code, meta)
    assert proofs.mark_proven(copies[4], consume=False)


def test_wrong_tries_on_stale_copies_reach_the_hourly_limit(user_factory, meta):
    person = user_factory(auth_email="a@mail.example")
    for _ in range(2):
        copies, code = _stale_copies(person, meta, MAX_TRIES_PER_CODE + 3)
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
    # Five answers compared in all (the right one among them or not), each wrong one counted.
    assert proof.tries == MAX_TRIES_PER_CODE, outcomes
    assert proof.failures == MAX_TRIES_PER_CODE - outcomes.count("passed")
    assert AuditEvent.objects.filter(activity="registration.proof_failed").count() == (
        proof.failures
    )


# --- 3. one number, one method -----------------------------------------------------------


def test_a_number_that_became_the_other_phone_meanwhile_is_refused_at_finish(user_factory, meta):
    person = user_factory(auth_email="a@mail.example")
    prove_by_email(person, meta)
    services.start_phone_change(
        user=person,
        session=SESSION,
        item=Item.MOBILE_PHONE,
        number=NEW_MOBILE,
        kind=K.MOBILE_SMS,
        meta=meta,
    )
    code = code_for(NEW_MOBILE)
    person.office_phone = NEW_MOBILE  # say a parallel change, or an administrator
    person.save(update_fields=["office_phone"])
    finish = lambda: services.finish_contact_change(  # noqa: E731
        user=person, session=SESSION, answer=code, meta=meta
    )
    assert _refused(finish) == "same_as_other"
    person.refresh_from_db()
    assert (person.mobile_phone, person.office_phone) == ("", NEW_MOBILE)
    assert _refused(finish) == "no_open_proof"  # the proof ended with the refusal
    assert AuditEvent.objects.filter(reason="same_as_other").count() == 1


# --- 4. texts for every change -----------------------------------------------------------


def _texts_to(number):
    return [
        m.plaintext_body()
        for m in delivered(recipient=number, kind="sms").filter(purpose="registration.notification")
    ]


def test_every_change_is_texted_to_the_registered_mobile(user_factory, meta):
    person = user_factory(auth_email="a@mail.example", mobile_phone=MOBILE, office_phone=OFFICE)
    prove_by_email(person, meta)
    services.start_email_change(user=person, session=SESSION, address="b@mail.example", meta=meta)
    services.finish_contact_change(
        user=person, session=SESSION, answer=code_for("b@mail.example"), meta=meta
    )
    services.remove_method(
        user=person,
        session=SESSION,
        item=Item.OFFICE_PHONE,
        meta=replace(meta, correlation_id="second-request"),
    )
    texts = _texts_to(MOBILE)
    assert len(texts) == 2
    assert "authentication email" in texts[-1] or "authentication email" in texts[0]
    assert any("office phone" in t for t in texts)
    assert all("If this wasn't you, contact your administrator" in t for t in texts)
    assert all("b@mail.example" not in t and OFFICE not in t for t in texts)


def test_no_text_without_a_mobile_number(user_factory, meta):
    person = user_factory(auth_email="a@mail.example", office_phone=OFFICE)
    prove_by_email(person, meta)
    services.remove_method(user=person, session=SESSION, item=Item.OFFICE_PHONE, meta=meta)
    assert not delivered(kind="sms").filter(purpose="registration.notification").exists()
