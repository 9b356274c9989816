"""Identity proofs count only through the value their code went to.

A change or removal ends every other session's proofs and windows, and one
number can't become both mobile and office phone, even in a race.
"""

import pytest

from opensspr.audit.models import AuditEvent
from opensspr.policy.kinds import MethodKind as K
from opensspr.registration import identity, services
from opensspr.registration.admin_services import set_authentication_contact
from opensspr.registration.notify import Item
from opensspr.registration.proofs import ProofError
from tests.conftest import past_the_send_cooldown
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


# --- identity proofs and the value they went to -----------------------------------


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
    past_the_send_cooldown()  # one code to one inbox a minute (A5)
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


# --- one number, one method -----------------------------------------------------------


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
