"""The re-proof rule (security bar A18, property 7): no change without a fresh proof.

Refused: a session that only proved the password while a method is registered, a
proof older than the window, a proof made in another session (a reset flow's
session is refused by ``test_pages``).
"""

import pytest

from opensspr.audit.models import AuditEvent
from opensspr.methods.models import AuthenticatorApp
from opensspr.policy.kinds import MethodKind as K
from opensspr.registration import identity, services
from opensspr.registration.models import Proof
from opensspr.registration.notify import Item
from opensspr.registration.proofs import ProofError
from opensspr.throttles.rules import SIGNIN_LOCKOUT
from tests.conftest import DEFAULT_PASSWORD
from tests.registration.conftest import MOBILE, SESSION, code_for, prove_by_email
from tests.throttles.stored import count_uses

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_policy")]


def _try_email_change(person, meta, session=SESSION):
    return services.start_email_change(
        user=person, session=session, address="new@mail.example", meta=meta
    )


def _refused(call) -> str:
    with pytest.raises(ProofError) as refused:
        call()
    return refused.value.code


def test_a_signed_in_session_alone_changes_nothing(user_factory, meta):
    person = user_factory(auth_email="old@mail.example")
    assert _refused(lambda: _try_email_change(person, meta)) == "identity_required"
    assert (
        _refused(
            lambda: services.remove_method(
                user=person, session=SESSION, item=Item.AUTH_EMAIL, meta=meta
            )
        )
        == "identity_required"
    )
    assert _refused(lambda: services.begin_app_setup(user=person, session=SESSION, meta=meta))
    person.refresh_from_db()
    assert person.auth_email == "old@mail.example"


def test_the_password_is_no_proof_while_a_method_is_registered(user_factory, meta):
    person = user_factory(auth_email="old@mail.example")
    assert (
        _refused(
            lambda: identity.verify_password(
                user=person, session=SESSION, password=DEFAULT_PASSWORD, meta=meta
            )
        )
        == "method_required"
    )
    # Even a password proof recorded at sign-in doesn't open changes.
    identity.record_password_proof(user=person, session=SESSION, meta=meta, via="sign_in")
    assert not identity.has_fresh_identity(person, SESSION)
    assert _refused(lambda: _try_email_change(person, meta)) == "identity_required"


def test_with_nothing_registered_the_password_is_proof_for_five_minutes(user_factory, meta, clock):
    person = user_factory()
    identity.verify_password(user=person, session=SESSION, password=DEFAULT_PASSWORD, meta=meta)
    clock.advance(minutes=4, seconds=59)
    assert identity.has_fresh_identity(person, SESSION)
    clock.advance(seconds=2)
    assert not identity.has_fresh_identity(person, SESSION)
    assert _refused(lambda: _try_email_change(person, meta)) == "identity_required"


def test_a_wrong_password_counts_toward_smart_lockout(user_factory, meta):
    person = user_factory()
    assert (
        _refused(
            lambda: identity.verify_password(
                user=person, session=SESSION, password="Not-The-Password-1", meta=meta
            )
        )
        == "wrong_password"
    )
    assert not identity.has_fresh_identity(person, SESSION)
    assert count_uses(rule=SIGNIN_LOCKOUT.name)  # one failure counted
    assert AuditEvent.objects.filter(
        activity="registration.proof_failed", reason="wrong_password"
    ).exists()


def test_a_method_proof_opens_changes_for_ten_minutes_only(user_factory, meta, clock):
    person = user_factory(auth_email="old@mail.example")
    prove_by_email(person, meta)
    clock.advance(minutes=9, seconds=59)
    _try_email_change(person, meta)  # still fresh
    clock.advance(seconds=2)
    assert _refused(lambda: _try_email_change(person, meta)) == "identity_required"


def test_a_proof_counts_only_in_the_session_that_made_it(user_factory, meta):
    person = user_factory(auth_email="old@mail.example")
    prove_by_email(person, meta, session="session-a")
    assert identity.has_fresh_identity(person, "session-a")
    assert not identity.has_fresh_identity(person, "session-b")
    assert _refused(lambda: _try_email_change(person, meta, "session-b")) == "identity_required"


def test_the_code_goes_to_the_stored_value_only(user_factory, meta):
    person = user_factory(auth_email="old@mail.example", mobile_phone=MOBILE)
    identity.start_identity_proof(user=person, session=SESSION, kind=K.MOBILE_SMS, meta=meta)
    assert code_for(MOBILE)
    # A method the person hasn't registered can't be used to prove anything.
    assert (
        _refused(
            lambda: identity.start_identity_proof(
                user=person, session=SESSION, kind=K.OFFICE_VOICE, meta=meta
            )
        )
        == "method_unavailable"
    )


def test_a_code_sent_to_a_value_since_replaced_proves_nothing(user_factory, meta):
    person = user_factory(auth_email="old@mail.example", mobile_phone=MOBILE)
    identity.start_identity_proof(user=person, session=SESSION, kind=K.MOBILE_SMS, meta=meta)
    code = code_for(MOBILE)
    person.mobile_phone = ""  # say an administrator removed it meanwhile
    person.save()
    assert (
        _refused(
            lambda: identity.finish_identity_proof(
                user=person, session=SESSION, answer=code, meta=meta
            )
        )
        == "method_unavailable"
    )


def test_an_authenticator_code_proves_identity_once(user_factory, meta, clock):
    import pyotp

    from opensspr.core.crypto import seal

    person = user_factory()
    secret = pyotp.random_base32()
    AuthenticatorApp.objects.create(user=person, secret_sealed=seal(secret), confirmed_at=clock.now)
    code = pyotp.TOTP(secret).at(clock.now)
    identity.start_identity_proof(user=person, session=SESSION, kind=K.APP_CODE, meta=meta)
    identity.finish_identity_proof(user=person, session=SESSION, answer=code, meta=meta)
    assert identity.has_fresh_identity(person, SESSION)
    # The same code again, in another session: the step is used up (attack A8).
    identity.start_identity_proof(user=person, session="other", kind=K.APP_CODE, meta=meta)
    assert (
        _refused(
            lambda: identity.finish_identity_proof(
                user=person, session="other", answer=code, meta=meta
            )
        )
        == "invalid_code"
    )


def test_too_many_wrong_codes_in_an_hour_stop_all_proofs(user_factory, meta, clock):
    """Proofs of new addresses (identity proofs stop at 5 a day before the hour's 10)."""
    person = user_factory(auth_email="old@mail.example")
    prove_by_email(person, meta)
    for n in range(2):
        address = f"new{n}@mail.example"
        services.start_email_change(user=person, session=SESSION, address=address, meta=meta)
        for _ in range(5):
            with pytest.raises(ProofError):
                services.finish_contact_change(
                    user=person, session=SESSION, answer="00000000", meta=meta
                )
    assert (
        _refused(
            lambda: identity.start_identity_proof(
                user=person, session=SESSION, kind=K.EMAIL, meta=meta
            )
        )
        == "throttled"
    )
    clock.advance(hours=1, seconds=1)
    identity.start_identity_proof(user=person, session=SESSION, kind=K.EMAIL, meta=meta)


def test_texts_are_limited_to_five_an_hour_per_person(user_factory, meta, clock):
    person = user_factory(mobile_phone=MOBILE)
    for _ in range(5):
        identity.start_identity_proof(user=person, session=SESSION, kind=K.MOBILE_SMS, meta=meta)
        clock.advance(minutes=5)  # within one phone's 3 in 15 minutes (A5)
    assert (
        _refused(
            lambda: identity.start_identity_proof(
                user=person, session=SESSION, kind=K.MOBILE_SMS, meta=meta
            )
        )
        == "too_many_sends"
    )
    assert Proof.objects.filter(kind="mobile_sms").count() == 5
    assert AuditEvent.objects.filter(
        activity="registration.proof_refused", reason="too_many_sends"
    ).exists()
    clock.advance(hours=1, seconds=1)
    identity.start_identity_proof(user=person, session=SESSION, kind=K.MOBILE_SMS, meta=meta)


def test_proving_a_first_method_counts_as_proving_it_is_you(user_factory, meta, clock):
    """The newcomer's path: password, then an email proven by its code, then a phone at once."""
    person = user_factory()
    identity.verify_password(user=person, session=SESSION, password=DEFAULT_PASSWORD, meta=meta)
    _try_email_change(person, meta)
    services.finish_contact_change(
        user=person, session=SESSION, answer=code_for("new@mail.example"), meta=meta
    )
    clock.advance(minutes=6)  # past the password's five minutes
    assert identity.has_fresh_identity(person, SESSION)
    assert not identity.has_fresh_identity(person, "another-session")
    services.start_phone_change(
        user=person,
        session=SESSION,
        item=Item.MOBILE_PHONE,
        number=MOBILE,
        kind=K.MOBILE_SMS,
        meta=meta,
    )
    clock.advance(minutes=5)  # ten minutes after the email was proven
    assert not identity.has_fresh_identity(person, SESSION)
