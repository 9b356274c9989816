"""The stop after sign-in (reference §8.1, §8.4): who is asked, skip, asked again, done.

Sign-in goes through the real ``/signin`` view; time moves with the ``clock`` fixture.
"""

from datetime import timedelta

import pytest

from opensspr.accounts.models import User
from opensspr.audit.models import AuditEvent
from opensspr.registration.models import RegistrationState
from tests.conftest import DEFAULT_PASSWORD, update_policy
from tests.registration.conftest import code_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_policy")]
NEXT = "/password/change"


def _sign_in(client, user, next_url=NEXT):
    return client.post(
        f"/signin?next={next_url}", {"user_id": user.user_id, "password": DEFAULT_PASSWORD}
    )


def _lands_on(response) -> str:
    assert response.status_code == 302
    return response["Location"]


def _register_email(client, address="mine@mail.example"):
    """The whole registration of an email from the page, as a browser would do it."""
    assert client.post("/security-info/email", {"address": address}).status_code == 302
    return client.post("/security-info/confirm", {"code": code_for(address)})


def test_a_person_without_methods_is_asked_to_register_at_sign_in(client, user_factory):
    person = user_factory()
    assert _lands_on(_sign_in(client, person)) == "/security-info"
    page = client.get("/security-info").content.decode()
    assert "Keep access to your account" in page
    assert 'value="skip"' in page and 'value="done"' not in page
    assert AuditEvent.objects.filter(activity="registration.interrupted", reason="register")


def test_skipping_continues_to_where_sign_in_was_going(client, user_factory):
    person = user_factory()
    _sign_in(client, person)
    assert _lands_on(client.post("/security-info/finish", {"action": "skip"})) == NEXT
    assert client.get(NEXT).status_code == 200  # still signed in
    assert AuditEvent.objects.filter(activity="registration.skipped").count() == 1


def test_the_question_comes_back_at_every_sign_in_until_done(client, user_factory):
    person = user_factory()
    _sign_in(client, person)
    client.post("/security-info/finish", {"action": "skip"})
    client.post("/signout")
    assert _lands_on(_sign_in(client, person)) == "/security-info"
    # Right after sign-in, the password just typed lets a person with nothing register.
    assert _lands_on(_register_email(client)) == "/security-info"
    assert "Done" in client.get("/security-info").content.decode()
    assert _lands_on(client.post("/security-info/finish", {"action": "done"})) == NEXT
    assert RegistrationState.objects.get(user=person).confirmed_at is not None
    client.post("/signout")
    assert _lands_on(_sign_in(client, person)) == NEXT


def test_done_is_refused_while_methods_are_missing(client, user_factory):
    person = user_factory()
    _sign_in(client, person)
    assert _lands_on(client.post("/security-info/finish", {"action": "done"})) == "/security-info"
    assert not AuditEvent.objects.filter(activity="registration.completed").exists()


def test_nobody_is_asked_when_registration_isnt_required(client, user_factory):
    update_policy(registration_required=False)
    assert _lands_on(_sign_in(client, user_factory())) == NEXT


def test_people_out_of_scope_are_not_asked(client, user_factory):
    update_policy(scope="none")
    assert _lands_on(_sign_in(client, user_factory())) == NEXT
    person = user_factory(sspr_licensed=False)
    update_policy(scope="all")
    assert _lands_on(_sign_in(client, person)) == NEXT


def test_an_administrator_with_one_method_is_asked_for_a_second(client, user_factory):
    update_policy(scope="none")  # the admin policy stands apart
    admin = user_factory(auth_email="a@mail.example", roles=("helpdesk_admin",))
    assert _lands_on(_sign_in(client, admin)) == "/security-info"
    page = client.get("/security-info").content.decode()
    assert "OSSPR_0015" in page


def test_the_interrupt_never_signs_anyone_out(client, user_factory):
    person = user_factory()
    client.force_login(person, backend="opensspr.signin.backends.DirectorySessionBackend")
    assert client.get("/").status_code == 200  # an existing session is left alone
    assert _lands_on(client.get(f"/signin?next={NEXT}")) == NEXT


def test_the_next_address_is_kept_through_the_interrupt(client, user_factory):
    person = user_factory()
    _sign_in(client, person, next_url="/security-info")
    assert _lands_on(client.post("/security-info/finish", {"action": "skip"})) == "/security-info"
    other = user_factory()
    client.post("/signout")
    client.post(
        "/signin?next=https://evil.example/",
        {"user_id": other.user_id, "password": DEFAULT_PASSWORD},
    )
    assert _lands_on(client.post("/security-info/finish", {"action": "skip"})) == "/"


# --- reconfirmation ----------------------------------------------------------------------


def _registered(user_factory, confirmed_at):
    person = user_factory(auth_email="mine@mail.example")
    RegistrationState.objects.create(user=person, confirmed_at=confirmed_at)
    return person


def test_reconfirmation_comes_after_the_configured_days(client, user_factory, clock):
    update_policy(reconfirm_days=30)
    person = _registered(user_factory, clock.now)
    clock.advance(days=29, hours=23)
    assert _lands_on(_sign_in(client, person)) == NEXT
    client.post("/signout")
    clock.advance(hours=1)
    assert _lands_on(_sign_in(client, person)) == "/security-info"
    assert AuditEvent.objects.filter(activity="registration.interrupted", reason="reconfirm")


def test_reconfirmation_needs_a_fresh_proof_then_looks_good(client, user_factory, clock):
    update_policy(reconfirm_days=30)
    person = _registered(user_factory, clock.now - timedelta(days=31))
    _sign_in(client, person)
    # The list isn't shown before the person proved it's them with a registered method.
    assert _lands_on(client.get("/security-info")).startswith("/security-info/verify")
    response = client.post("/security-info/finish", {"action": "done"})
    assert _lands_on(response) == "/security-info"
    assert not AuditEvent.objects.filter(activity="registration.reconfirmed").exists()

    client.post("/security-info/verify?next=/security-info", {"method": "email"})
    response = client.post(
        "/security-info/verify/code?next=/security-info", {"code": code_for("mine@mail.example")}
    )
    assert _lands_on(response) == "/security-info"
    page = client.get("/security-info").content.decode()
    assert "Is your security info still right?" in page and "m•••@mail.example" in page
    assert _lands_on(client.post("/security-info/finish", {"action": "done"})) == NEXT
    assert RegistrationState.objects.get(user=person).confirmed_at == clock.now
    assert AuditEvent.objects.filter(activity="registration.reconfirmed").count() == 1
    client.post("/signout")
    assert _lands_on(_sign_in(client, person)) == NEXT


def test_reconfirmation_can_be_put_off(client, user_factory, clock):
    update_policy(reconfirm_days=30)
    person = _registered(user_factory, clock.now - timedelta(days=31))
    _sign_in(client, person)
    assert _lands_on(client.post("/security-info/finish", {"action": "skip"})) == NEXT
    client.post("/signout")
    assert _lands_on(_sign_in(client, person)) == "/security-info"


def test_never_confirmed_data_is_due_once_the_account_is_that_old(client, user_factory, clock):
    update_policy(reconfirm_days=30)
    person = user_factory(auth_email="set-by-admin@mail.example")
    User.objects.filter(pk=person.pk).update(created_at=clock.now)
    assert _lands_on(_sign_in(client, person)) == NEXT  # not everyone on the first day
    client.post("/signout")
    clock.advance(days=30)
    assert _lands_on(_sign_in(client, person)) == "/security-info"


@pytest.mark.parametrize(
    "policy", [{"reconfirm_days": 0}, {"registration_required": False, "reconfirm_days": 30}]
)
def test_no_reconfirmation_when_switched_off(client, user_factory, clock, policy):
    update_policy(**policy)
    person = _registered(user_factory, clock.now - timedelta(days=700))
    assert _lands_on(_sign_in(client, person)) == NEXT


def test_after_a_forced_password_change_the_interrupt_still_comes(client, user_factory, clock):
    person = user_factory()
    person.password_last_set = clock.now - timedelta(days=200)
    person.save()
    assert _lands_on(_sign_in(client, person)) == "/signin/update-password"
    response = client.post(
        "/signin/update-password",
        {
            "current_password": DEFAULT_PASSWORD,
            "new_password": "Granite-Orchard-Twelve-6",
            "confirm_password": "Granite-Orchard-Twelve-6",
        },
    )
    assert _lands_on(response) == "/security-info"
    assert _lands_on(client.post("/security-info/finish", {"action": "skip"})) == NEXT
