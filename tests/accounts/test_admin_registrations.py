"""The console's user page and security info: what admins see, set and clear, and what they never see."""

import pytest

from opensspr.audit.models import AuditEvent
from opensspr.methods.models import AuthenticatorApp, SecurityAnswer
from opensspr.methods.questions import replace_answers
from opensspr.registration.models import RegistrationState
from tests.conftest import open_reset_policy
from tests.console.forms import user_form_data
from tests.reports.population import add_app, prove

pytestmark = pytest.mark.django_db

MOBILE = "+31 6 12345678"


def _signed_in(client, user):
    client.force_login(user)  # the session /signin creates; sign-in is tested in tests/signin
    return client


@pytest.fixture
def person(user_factory, clock):
    user = user_factory(auth_email="p@mail.example", mobile_phone=MOBILE)
    prove(user, "auth_email", "mobile_phone")
    return user


def _change_url(user):
    return f"/console/accounts/user/{user.pk}/change/"


def _clear_url(user):
    return f"/console/accounts/user/{user.pk}/clear-security-info/"


# --- setting contact data through the user form ------------------------------------------


def test_a_new_email_typed_in_the_console_drops_only_its_proof(client, user_factory, person):
    _signed_in(client, user_factory(roles=("helpdesk_admin",)))
    response = client.post(
        _change_url(person),
        user_form_data(person, auth_email="new@mail.example", surname="Renamed"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    person.refresh_from_db()
    assert person.auth_email == "new@mail.example" and person.surname == "Renamed"
    state = RegistrationState.objects.get(user=person)
    assert state.auth_email_proven_at is None
    assert state.mobile_phone_proven_at is not None
    contact = AuditEvent.objects.get(activity="registration.contact_set_by_admin")
    assert contact.details["fields"] == ["auth_email"]
    assert contact.details["proof_dropped"] == ["auth_email"]
    edit = AuditEvent.objects.get(activity="console.object_changed")
    assert edit.details["fields"] == ["auth_email", "surname"]
    assert "new@mail.example" not in str(contact.details) + str(edit.details)


def test_saving_the_form_without_changing_contact_data_keeps_every_proof(
    client, user_factory, person
):
    _signed_in(client, user_factory(roles=("user_admin",)))
    # The same number as stored, typed the way people write it.
    response = client.post(
        _change_url(person), user_form_data(person, mobile_phone="+31 6 1234 5678", surname="X")
    )
    assert response.status_code == 302
    state = RegistrationState.objects.get(user=person)
    assert state.auth_email_proven_at is not None and state.mobile_phone_proven_at is not None
    assert not AuditEvent.objects.filter(activity="registration.contact_set_by_admin").exists()


def test_an_invalid_number_in_the_console_changes_nothing(client, user_factory, person):
    _signed_in(client, user_factory(roles=("user_admin",)))
    response = client.post(_change_url(person), user_form_data(person, mobile_phone="12"))
    assert response.status_code == 200
    person.refresh_from_db()
    assert person.mobile_phone == "+31612345678"
    assert RegistrationState.objects.get(user=person).mobile_phone_proven_at is not None


# --- what the user page shows ------------------------------------------------------------


def test_the_user_page_shows_what_is_registered_and_no_secret(client, user_factory, person):
    open_reset_policy()
    app = add_app(person)
    replace_answers(person, {f"predefined:{n}": f"canary-answer-{n} lighthouse" for n in (7, 9)})
    person.office_phone = "+31201234567"
    person.save(update_fields=["office_phone"])
    _signed_in(client, user_factory(roles=("helpdesk_admin",)))

    page = client.get(_change_url(person)).content.decode()

    assert "Authentication email: proven by the person" in page
    assert "Mobile phone: proven by the person" in page
    assert "Office phone: set by an administrator or imported, not proven by the person" in page
    assert "Authenticator app: 1 confirmed" in page
    assert "Security questions: 2 of 5 answered, too few to count" in page
    assert "Can use self-service password reset." in page
    assert "Last confirmed by the person" in page
    hashes = SecurityAnswer.objects.filter(user=person).values_list("answer_hash", flat=True)
    assert all(h not in page for h in hashes)
    assert "canary-answer" not in page
    assert app.secret_sealed not in page
    assert "predefined:7" not in page  # not even which questions were chosen


def test_the_user_page_says_why_someone_cannot_reset(client, user_factory):
    open_reset_policy(methods_required=2)
    lonely = user_factory(auth_email="l@mail.example")
    _signed_in(client, user_factory(roles=("helpdesk_admin",)))
    page = client.get(_change_url(lonely)).content.decode()
    assert "Can&#x27;t use self-service password reset" in page
    assert "OSSPR_0014" in page
    assert "Never confirmed by the person." in page


def test_the_console_has_no_page_for_answers_or_apps(client, user_factory, person):
    add_app(person)
    _signed_in(client, user_factory(roles=("global_admin",)))
    for url in ("/console/methods/securityanswer/", "/console/methods/authenticatorapp/"):
        assert client.get(url).status_code == 404, url


# --- clearing registrations --------------------------------------------------------------


def test_an_authentication_admin_clears_from_the_user_page(client, user_factory, person):
    add_app(person)
    _signed_in(client, user_factory(roles=("authentication_admin",)))
    page = client.get(_change_url(person)).content.decode()
    assert _clear_url(person) in page

    confirm = client.get(_clear_url(person))
    assert confirm.status_code == 200
    assert person.user_id in confirm.content.decode()
    assert AuthenticatorApp.objects.filter(user=person).exists()  # GET changes nothing

    done = client.post(_clear_url(person))
    assert done.status_code == 302 and done["Location"] == _change_url(person)
    assert not AuthenticatorApp.objects.filter(user=person).exists()
    person.refresh_from_db()
    assert person.auth_email == "p@mail.example"  # kept unless asked
    assert RegistrationState.objects.get(user=person).confirmed_at is None
    assert AuditEvent.objects.filter(activity="registration.cleared_by_admin").count() == 1


def test_clearing_from_the_user_page_can_remove_contact_data(client, user_factory, person):
    _signed_in(client, user_factory(roles=("authentication_admin",)))
    client.post(_clear_url(person), {"include_contact": "on"})
    person.refresh_from_db()
    assert (person.auth_email, person.mobile_phone) == ("", "")


@pytest.mark.parametrize("role", ["helpdesk_admin", "password_admin", "user_admin"])
def test_admins_who_dont_manage_methods_get_no_button_and_no_page(
    client, user_factory, person, role
):
    add_app(person)
    _signed_in(client, user_factory(roles=(role,)))
    assert _clear_url(person) not in client.get(_change_url(person)).content.decode()
    assert client.get(_clear_url(person)).status_code == 403
    assert client.post(_clear_url(person)).status_code == 403
    assert AuthenticatorApp.objects.filter(user=person).exists()
    changelist = client.get("/console/accounts/user/").content.decode()
    assert "clear_registrations" not in changelist


def test_an_authentication_admin_cannot_clear_an_administrator(client, user_factory):
    target = user_factory(roles=("helpdesk_admin",))
    add_app(target)
    _signed_in(client, user_factory(roles=("authentication_admin",)))
    assert client.post(_clear_url(target)).status_code == 403
    assert AuthenticatorApp.objects.filter(user=target).exists()


def test_the_bulk_action_confirms_then_clears_only_manageable_people(client, user_factory, person):
    other = user_factory(auth_email="o@mail.example")
    admin_target = user_factory(roles=("helpdesk_admin",))
    for user in (person, other, admin_target):
        add_app(user)
    _signed_in(client, user_factory(roles=("authentication_admin",)))
    selected = [str(u.pk) for u in (person, other, admin_target)]
    action = {"action": "clear_registrations", "_selected_action": selected}

    confirm = client.post("/console/accounts/user/", action)
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert person.user_id in page and other.user_id in page
    assert admin_target.user_id not in page  # only a global administrator may
    assert AuthenticatorApp.objects.count() == 3

    done = client.post("/console/accounts/user/", action | {"post": "yes"}, follow=True)
    assert "Security info cleared for 2 people" in done.content.decode()
    assert set(AuthenticatorApp.objects.values_list("user_id", flat=True)) == {admin_target.pk}
    assert AuditEvent.objects.filter(activity="registration.cleared_by_admin").count() == 2
