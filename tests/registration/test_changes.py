"""Adding and changing email and phones: proven first, stored after, old and new told."""

import pytest
from django.core.exceptions import ValidationError

from opensspr.accounts.models import User
from opensspr.audit.models import AuditEvent
from opensspr.policy.kinds import MethodKind as K
from opensspr.registration import services
from opensspr.registration.models import Proof, RegistrationState
from opensspr.registration.notify import Item
from opensspr.registration.proofs import ProofError
from tests.concurrency import needs_concurrent_writers, race
from tests.conftest import delivered
from tests.registration.conftest import (
    MOBILE,
    NEW_MOBILE,
    SESSION,
    code_for,
    prove_by_email,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_policy")]


def test_a_new_email_reaches_the_user_only_once_its_code_came_back(user_factory, meta):
    person = user_factory(email="p@contoso.example", auth_email="old@mail.example")
    prove_by_email(person, meta)
    services.start_email_change(user=person, session=SESSION, address="new@mail.example", meta=meta)
    person.refresh_from_db()
    assert person.auth_email == "old@mail.example"  # pending: not on the user yet
    assert Proof.objects.filter(value="new@mail.example", proven_at__isnull=True).exists()

    item = services.finish_contact_change(
        user=person, session=SESSION, answer=code_for("new@mail.example"), meta=meta
    )
    person.refresh_from_db()
    assert item == Item.AUTH_EMAIL
    assert person.auth_email == "new@mail.example"
    state = RegistrationState.objects.get(user=person)
    assert state.auth_email_proven_at is not None and state.confirmed_at is not None
    event = AuditEvent.objects.get(activity="registration.method_changed")
    assert event.details == {"method": "auth_email", "via": "email"}


def test_an_email_change_notifies_the_old_and_the_new_address(user_factory, meta):
    person = user_factory(email="p@contoso.example", auth_email="old@mail.example")
    prove_by_email(person, meta)
    services.start_email_change(user=person, session=SESSION, address="new@mail.example", meta=meta)
    services.finish_contact_change(
        user=person, session=SESSION, answer=code_for("new@mail.example"), meta=meta
    )
    notices = delivered().filter(purpose="registration.notification")
    told = sorted(m.recipient for m in notices)
    assert told == ["new@mail.example", "old@mail.example", "p@contoso.example"]
    body = notices.get(recipient="old@mail.example").plaintext_body()
    assert "authentication email, changed" in body
    assert "new@mail.example" not in body  # the old address never learns the new one


def test_a_mobile_change_by_text_notifies_old_and_new_numbers(user_factory, meta):
    person = user_factory(auth_email="a@mail.example", mobile_phone=MOBILE)
    prove_by_email(person, meta)
    services.start_phone_change(
        user=person,
        session=SESSION,
        item=Item.MOBILE_PHONE,
        number="+31 6 8765 4321",
        kind=K.MOBILE_SMS,
        meta=meta,
    )
    assert User.objects.get(pk=person.pk).mobile_phone == MOBILE
    services.finish_contact_change(
        user=person, session=SESSION, answer=code_for(NEW_MOBILE), meta=meta
    )
    assert User.objects.get(pk=person.pk).mobile_phone == NEW_MOBILE
    texts = delivered(kind="sms").filter(purpose="registration.notification")
    assert sorted(m.recipient for m in texts) == sorted([MOBILE, NEW_MOBILE])
    assert delivered(recipient="a@mail.example").filter(purpose="registration.notification")


def test_a_wrong_code_keeps_the_old_value_and_dies_after_five_tries(user_factory, meta):
    person = user_factory(auth_email="old@mail.example")
    prove_by_email(person, meta)
    services.start_email_change(user=person, session=SESSION, address="new@mail.example", meta=meta)
    for _ in range(4):
        with pytest.raises(ProofError) as wrong:
            services.finish_contact_change(
                user=person, session=SESSION, answer="00000000", meta=meta
            )
        assert wrong.value.code == "invalid_code"
    with pytest.raises(ProofError) as last:
        services.finish_contact_change(user=person, session=SESSION, answer="00000000", meta=meta)
    assert last.value.code == "code_dead"
    with pytest.raises(ProofError) as dead:
        services.finish_contact_change(
            user=person, session=SESSION, answer=code_for("new@mail.example"), meta=meta
        )
    assert dead.value.code == "code_dead"
    assert User.objects.get(pk=person.pk).auth_email == "old@mail.example"


def test_a_code_expires_after_five_minutes(user_factory, meta, clock):
    person = user_factory(auth_email="old@mail.example")
    prove_by_email(person, meta)
    services.start_email_change(user=person, session=SESSION, address="new@mail.example", meta=meta)
    code = code_for("new@mail.example")
    clock.advance(minutes=5, seconds=1)
    with pytest.raises(ProofError) as expired:
        services.finish_contact_change(user=person, session=SESSION, answer=code, meta=meta)
    assert expired.value.code == "code_expired"
    assert User.objects.get(pk=person.pk).auth_email == "old@mail.example"


def test_a_new_code_replaces_the_old_one(user_factory, meta):
    person = user_factory(auth_email="old@mail.example")
    prove_by_email(person, meta)
    services.start_email_change(user=person, session=SESSION, address="x@mail.example", meta=meta)
    first = code_for("x@mail.example")
    services.start_email_change(user=person, session=SESSION, address="y@mail.example", meta=meta)
    second = code_for("y@mail.example")
    assert Proof.objects.get(value="x@mail.example").consumed_at is not None
    if first != second:  # one in 10^8 they are equal
        with pytest.raises(ProofError):
            services.finish_contact_change(user=person, session=SESSION, answer=first, meta=meta)
    services.finish_contact_change(user=person, session=SESSION, answer=second, meta=meta)
    assert User.objects.get(pk=person.pk).auth_email == "y@mail.example"


def test_a_code_proves_a_value_only_in_the_session_that_asked(user_factory, meta):
    person = user_factory(auth_email="old@mail.example")
    prove_by_email(person, meta)
    services.start_email_change(user=person, session=SESSION, address="new@mail.example", meta=meta)
    with pytest.raises(ProofError) as other:
        services.finish_contact_change(
            user=person, session="another-session", answer=code_for("new@mail.example"), meta=meta
        )
    assert other.value.code == "no_open_proof"


def test_a_bad_email_is_refused_before_anything_is_sent(user_factory, meta):
    person = user_factory(email="p@contoso.example", auth_email="old@mail.example")
    prove_by_email(person, meta)
    for bad in ("not-an-address", "p@contoso.example", "OLD@mail.example", "x" * 250 + "@a.io"):
        with pytest.raises(ValidationError):
            services.start_email_change(user=person, session=SESSION, address=bad, meta=meta)
    assert not Proof.objects.exclude(purpose="identity").exists()


def test_removing_a_method_clears_it_and_tells_the_old_address(user_factory, meta):
    person = user_factory(email="p@contoso.example", auth_email="old@mail.example")
    RegistrationState.objects.create(user=person, auth_email_proven_at=person.created_at)
    prove_by_email(person, meta)
    services.remove_method(user=person, session=SESSION, item=Item.AUTH_EMAIL, meta=meta)
    person.refresh_from_db()
    assert person.auth_email == ""
    assert RegistrationState.objects.get(user=person).auth_email_proven_at is None
    told = {m.recipient for m in delivered().filter(purpose="registration.notification")}
    assert told == {"old@mail.example", "p@contoso.example"}
    assert AuditEvent.objects.filter(activity="registration.method_removed").count() == 1


def test_an_office_phone_can_only_be_proven_by_a_call(user_factory, meta):
    person = user_factory(auth_email="a@mail.example")
    prove_by_email(person, meta)
    with pytest.raises(ProofError) as refused:
        services.start_phone_change(
            user=person,
            session=SESSION,
            item=Item.OFFICE_PHONE,
            number="+31205550102",
            kind=K.MOBILE_SMS,
            meta=meta,
        )
    assert refused.value.code == "method_unavailable"


def test_one_number_cant_be_both_mobile_and_office_phone(user_factory, meta):
    person = user_factory(auth_email="a@mail.example", mobile_phone=MOBILE)
    prove_by_email(person, meta)
    with pytest.raises(ValidationError) as refused:
        services.start_phone_change(
            user=person,
            session=SESSION,
            item=Item.OFFICE_PHONE,
            number=MOBILE,
            kind=K.OFFICE_VOICE,
            meta=meta,
        )
    assert refused.value.code == "same_as_other"


@pytest.mark.django_db(transaction=True)
def test_parallel_submissions_of_one_code_change_the_value_once(user_factory, meta):
    needs_concurrent_writers()
    person = user_factory(auth_email="old@mail.example")
    prove_by_email(person, meta)
    services.start_email_change(
        user=person, session=SESSION, address="race@mail.example", meta=meta
    )
    code = code_for("race@mail.example")

    def submit():
        services.finish_contact_change(user=person, session=SESSION, answer=code, meta=meta)
        return "changed"

    outcomes = [getattr(o, "code", o) for o in race(*[submit] * 8)]
    assert outcomes.count("changed") == 1, outcomes
    assert AuditEvent.objects.filter(activity="registration.method_changed").count() == 1
