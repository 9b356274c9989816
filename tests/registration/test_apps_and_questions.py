"""Authenticator apps (sealed seed, first code proves it) and security questions."""

import pyotp
import pytest

from opensspr.core.crypto import unseal
from opensspr.methods.models import AuthenticatorApp, SecurityAnswer
from opensspr.methods.questions import answer_matches
from opensspr.policy.reset_selectors import eligibility_for
from opensspr.registration import services
from opensspr.registration.notify import Item
from opensspr.registration.proofs import ProofError
from tests.conftest import delivered, update_policy
from tests.registration.conftest import SESSION, prove_by_email

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_policy")]

GOOD_ANSWERS = {
    "predefined:2": "Rotterdam harbour",
    "predefined:12": "pannenkoeken",
    "predefined:29": "Kwispel",
}


def test_an_app_counts_only_once_its_first_code_proved_it(user_factory, meta, clock):
    person = user_factory(auth_email="a@mail.example")
    prove_by_email(person, meta)
    setup = services.begin_app_setup(user=person, session=SESSION, meta=meta)
    app = AuthenticatorApp.objects.get(user=person)
    assert setup.secret not in app.secret_sealed and unseal(app.secret_sealed) == setup.secret
    assert setup.uri.startswith("otpauth://totp/") and f"secret={setup.secret}" in setup.uri
    assert app.confirmed_at is None
    assert not [m for m in eligibility_for(person).methods if m.kind == "app_code"]

    with pytest.raises(ProofError) as wrong:
        services.finish_app_setup(user=person, session=SESSION, code="000000", meta=meta)
    assert wrong.value.code == "invalid_code"
    code = pyotp.TOTP(setup.secret).at(clock.now)
    services.finish_app_setup(user=person, session=SESSION, code=code, meta=meta)
    app.refresh_from_db()
    assert app.confirmed_at == clock.now
    assert [m.kind for m in eligibility_for(person).methods if m.kind == "app_code"]
    # The code that proved the app is used up: it can't open a reset gate too (A8).
    assert app.last_used_step == int(clock.now.timestamp()) // 30
    told = delivered(recipient="a@mail.example").filter(purpose="registration.notification")
    assert "authenticator app, added" in told.get().plaintext_body()


def test_an_unfinished_app_set_up_expires(user_factory, meta, clock):
    person = user_factory(auth_email="a@mail.example")
    prove_by_email(person, meta)
    setup = services.begin_app_setup(user=person, session=SESSION, meta=meta)
    clock.advance(minutes=10, seconds=1)
    assert services.get_app_setup(person, SESSION) is None
    with pytest.raises(ProofError):
        services.finish_app_setup(
            user=person, session=SESSION, code=pyotp.TOTP(setup.secret).at(clock.now), meta=meta
        )
    assert not AuthenticatorApp.objects.filter(confirmed_at__isnull=False).exists()


def test_a_new_set_up_drops_the_unfinished_one(user_factory, meta):
    person = user_factory(auth_email="a@mail.example")
    prove_by_email(person, meta)
    services.begin_app_setup(user=person, session=SESSION, meta=meta)
    services.begin_app_setup(user=person, session=SESSION, meta=meta)
    assert AuthenticatorApp.objects.filter(user=person).count() == 1


def test_removing_an_app_needs_a_fresh_proof_and_tells_the_person(user_factory, meta, clock):
    person = user_factory(auth_email="a@mail.example")
    prove_by_email(person, meta)
    setup = services.begin_app_setup(user=person, session=SESSION, meta=meta)
    code = pyotp.TOTP(setup.secret).at(clock.now)
    services.finish_app_setup(user=person, session=SESSION, code=code, meta=meta)
    app = AuthenticatorApp.objects.get(user=person)
    clock.advance(minutes=11)
    with pytest.raises(ProofError):
        services.remove_method(
            user=person, session=SESSION, item=Item.AUTHENTICATOR_APP, app_id=app.pk, meta=meta
        )
    prove_by_email(person, meta)
    services.remove_method(
        user=person, session=SESSION, item=Item.AUTHENTICATOR_APP, app_id=app.pk, meta=meta
    )
    assert not AuthenticatorApp.objects.filter(user=person).exists()
    bodies = [m.plaintext_body() for m in delivered().filter(purpose="registration.notification")]
    assert any("authenticator app, removed" in b for b in bodies)


def _questions_policy(**overrides):
    update_policy(
        allow_security_questions=True, questions_to_register=3, questions_to_reset=3, **overrides
    )


def test_security_answers_are_stored_hashed_when_every_rule_holds(user_factory, meta):
    _questions_policy()
    person = user_factory(auth_email="a@mail.example")
    prove_by_email(person, meta)
    problems = services.set_security_questions(
        user=person, session=SESSION, answers=GOOD_ANSWERS, meta=meta
    )
    assert problems == []
    rows = {a.question_key: a.answer_hash for a in SecurityAnswer.objects.filter(user=person)}
    assert set(rows) == set(GOOD_ANSWERS)
    assert answer_matches("rotterdam  HARBOUR", rows["predefined:2"])
    assert "Rotterdam" not in "".join(rows.values())


@pytest.mark.parametrize(
    ("answers", "problem_key"),
    [
        ({"predefined:2": "Rotterdam", "predefined:12": "pizza"}, ""),  # too few
        ({**GOOD_ANSWERS, "predefined:29": "ab"}, "predefined:29"),  # too short
        ({**GOOD_ANSWERS, "predefined:29": "x" * 41}, "predefined:29"),  # too long
        ({**GOOD_ANSWERS, "predefined:29": "Pannenkoeken"}, "predefined:29"),  # same answer twice
        ({**GOOD_ANSWERS, "predefined:99": "Something"}, "predefined:99"),  # not a question
    ],
)
def test_security_answers_breaking_a_rule_are_refused(user_factory, meta, answers, problem_key):
    _questions_policy()
    person = user_factory(auth_email="a@mail.example")
    prove_by_email(person, meta)
    problems = services.set_security_questions(
        user=person, session=SESSION, answers=answers, meta=meta
    )
    assert problem_key in [p.key for p in problems]
    assert not SecurityAnswer.objects.filter(user=person).exists()


def test_security_questions_are_never_offered_to_administrators(user_factory, meta):
    _questions_policy()
    admin = user_factory(auth_email="a@mail.example", roles=("helpdesk_admin",))
    prove_by_email(admin, meta)
    with pytest.raises(ProofError) as refused:
        services.set_security_questions(
            user=admin, session=SESSION, answers=GOOD_ANSWERS, meta=meta
        )
    assert refused.value.code == "method_unavailable"


def test_security_questions_need_the_policy_to_allow_them(user_factory, meta):
    person = user_factory(auth_email="a@mail.example")
    prove_by_email(person, meta)
    with pytest.raises(ProofError):
        services.set_security_questions(
            user=person, session=SESSION, answers=GOOD_ANSWERS, meta=meta
        )
