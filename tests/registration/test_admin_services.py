"""Administrators' writes to security info: set contact data, clear registrations, drop a question."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from opensspr.accounts.roles import AdminRole, roles_may_manage_security_info
from opensspr.audit.models import AuditEvent
from opensspr.methods.models import AuthenticatorApp, SecurityAnswer
from opensspr.methods.questions import CUSTOM_PREFIX, replace_answers
from opensspr.policy.kinds import MethodKind
from opensspr.policy.models import CustomQuestion
from opensspr.policy.reset_selectors import get_sspr_policy
from opensspr.registration import identity
from opensspr.registration.admin_services import (
    clear_security_info,
    delete_custom_question,
    set_authentication_contact,
)
from opensspr.registration.models import RegistrationState
from opensspr.registration.proofs import ProofError
from opensspr.reports.capability import get_capability
from tests.conftest import delivered, open_reset_policy, past_the_send_cooldown
from tests.registration.conftest import SESSION, code_for, prove_by_email
from tests.reports.population import add_app, answer, prove

pytestmark = pytest.mark.django_db

MOBILE = "+31 6 12345678"


@pytest.fixture
def person(user_factory, clock):
    user = user_factory(auth_email="p@mail.example", mobile_phone=MOBILE)
    prove(user, "auth_email", "mobile_phone")
    return user


def _state(user):
    return RegistrationState.objects.get(user=user)


# --- setting authentication contact data -------------------------------------------------


def test_setting_an_email_drops_only_the_email_proof_and_audits_names(user_factory, person, meta):
    admin = user_factory(roles=("authentication_admin",))
    changed = set_authentication_contact(
        actor=admin, user=person, values={"auth_email": "new@mail.example"}, meta=meta
    )
    assert changed == ("auth_email",)
    person.refresh_from_db()
    assert person.auth_email == "new@mail.example"
    state = _state(person)
    assert state.auth_email_proven_at is None
    assert state.mobile_phone_proven_at is not None  # untouched
    event = AuditEvent.objects.get(activity="registration.contact_set_by_admin")
    assert event.actor == admin and event.target == person
    assert event.details == {
        "fields": ["auth_email"],
        "removed": [],
        "proof_dropped": ["auth_email"],
    }
    assert "new@mail.example" not in str(event.details)


def test_a_number_retyped_in_another_format_is_no_change_and_keeps_its_proof(
    user_factory, person, meta
):
    admin = user_factory(roles=("helpdesk_admin",))
    changed = set_authentication_contact(
        actor=admin, user=person, values={"mobile_phone": "+3161 234 5678"}, meta=meta
    )
    assert changed == ()
    assert _state(person).mobile_phone_proven_at is not None
    assert not AuditEvent.objects.filter(activity="registration.contact_set_by_admin").exists()


def test_removing_a_phone_is_recorded_as_removed(user_factory, person, meta):
    admin = user_factory(roles=("user_admin",))
    set_authentication_contact(actor=admin, user=person, values={"mobile_phone": ""}, meta=meta)
    person.refresh_from_db()
    assert person.mobile_phone == ""
    event = AuditEvent.objects.get(activity="registration.contact_set_by_admin")
    assert event.details["removed"] == ["mobile_phone"]
    assert event.details["proof_dropped"] == ["mobile_phone"]


def test_malformed_contact_data_is_refused_with_every_problem(user_factory, person, meta):
    admin = user_factory(roles=("global_admin",))
    with pytest.raises(ValidationError) as caught:
        set_authentication_contact(
            actor=admin,
            user=person,
            values={"auth_email": "not-an-address", "office_phone": "12"},
            meta=meta,
        )
    assert set(caught.value.message_dict) == {"auth_email", "office_phone"}
    person.refresh_from_db()
    assert person.auth_email == "p@mail.example" and person.office_phone == ""


def test_only_a_global_admin_sets_an_administrators_contact_data(user_factory, meta):
    target = user_factory(roles=("password_admin",), auth_email="a@mail.example")
    helpdesk = user_factory(roles=("helpdesk_admin",))
    with pytest.raises(PermissionDenied):
        set_authentication_contact(
            actor=helpdesk, user=target, values={"auth_email": "evil@mail.example"}, meta=meta
        )
    target.refresh_from_db()
    assert target.auth_email == "a@mail.example"
    glob = user_factory(roles=("global_admin",))
    set_authentication_contact(
        actor=glob, user=target, values={"auth_email": "b@mail.example"}, meta=meta
    )
    target.refresh_from_db()
    assert target.auth_email == "b@mail.example"


def test_only_contact_fields_can_be_set_this_way(user_factory, person, meta):
    admin = user_factory(roles=("global_admin",))
    with pytest.raises(ValueError, match="not authentication contact fields"):
        set_authentication_contact(
            actor=admin, user=person, values={"display_name": "X"}, meta=meta
        )


# --- clearing registrations --------------------------------------------------------------


def test_clearing_removes_apps_answers_proofs_and_confirmation_but_keeps_contact(
    user_factory, person, meta
):
    open_reset_policy(methods_required=2)
    bystander = user_factory(auth_email="b@mail.example")
    add_app(person)
    add_app(bystander)
    answer(person, 5)
    answer(bystander, 5)
    admin = user_factory(roles=("authentication_admin",))

    cleared = clear_security_info(actor=admin, user=person, meta=meta)

    assert (cleared.apps, cleared.answers) == (1, 5)
    assert set(cleared.proofs) == {"auth_email", "mobile_phone"} and cleared.contacts == ()
    assert not AuthenticatorApp.objects.filter(user=person).exists()
    assert not SecurityAnswer.objects.filter(user=person).exists()
    state = _state(person)
    assert state.confirmed_at is None
    assert state.auth_email_proven_at is None and state.mobile_phone_proven_at is None
    person.refresh_from_db()
    assert (person.auth_email, person.mobile_phone) == ("p@mail.example", "+31612345678")
    # Someone else's registrations are untouched.
    assert AuthenticatorApp.objects.filter(user=bystander).count() == 1
    assert SecurityAnswer.objects.filter(user=bystander).count() == 5
    event = AuditEvent.objects.get(activity="registration.cleared_by_admin")
    assert event.target == person and event.actor == admin
    assert event.details["authenticator_apps"] == 1
    assert event.details["security_questions"] == 5
    assert event.details["confirmation_dropped"] is True
    assert event.details["removed"] == []


def test_clearing_can_also_remove_the_contact_data(user_factory, person, meta):
    admin = user_factory(roles=("privileged_authentication_admin",))
    cleared = clear_security_info(actor=admin, user=person, meta=meta, include_contact=True)
    assert cleared.contacts == ("auth_email", "mobile_phone")
    person.refresh_from_db()
    assert (person.auth_email, person.mobile_phone, person.office_phone) == ("", "", "")
    event = AuditEvent.objects.get(activity="registration.cleared_by_admin")
    assert event.details["removed"] == ["auth_email", "mobile_phone"]
    assert "p@mail.example" not in str(event.details)


def test_after_clearing_an_app_user_can_no_longer_reset(user_factory, meta, clock):
    open_reset_policy(methods_required=2)
    person = user_factory(auth_email="p@mail.example")
    add_app(person)
    policy = get_sspr_policy()
    assert get_capability(person, policy).capable
    admin = user_factory(roles=("authentication_admin",))
    clear_security_info(actor=admin, user=person, meta=meta)
    after = get_capability(person, policy)
    assert not after.capable and not after.registered and after.enabled


def test_the_audit_of_a_clear_holds_no_answer_or_seed(user_factory, person, meta):
    replace_answers(person, {f"predefined:{n}": f"canary-answer-{n} harbour" for n in range(1, 4)})
    app = add_app(person)
    hashes = list(SecurityAnswer.objects.filter(user=person).values_list("answer_hash", flat=True))
    admin = user_factory(roles=("global_admin",))
    clear_security_info(actor=admin, user=person, meta=meta)
    text = str(AuditEvent.objects.get(activity="registration.cleared_by_admin").details)
    assert "canary-answer" not in text
    assert app.secret_sealed not in text
    assert all(h not in text for h in hashes)


@pytest.mark.parametrize(
    "role", ["helpdesk_admin", "password_admin", "user_admin", "security_admin"]
)
def test_roles_that_dont_manage_methods_cannot_clear(user_factory, person, meta, role):
    add_app(person)
    with pytest.raises(PermissionDenied):
        clear_security_info(actor=user_factory(roles=(role,)), user=person, meta=meta)
    assert AuthenticatorApp.objects.filter(user=person).exists()
    assert not AuditEvent.objects.filter(activity="registration.cleared_by_admin").exists()


def test_the_role_table_lets_only_authentication_roles_manage_security_info():
    allowed = {role for role in AdminRole if roles_may_manage_security_info({role})}
    assert allowed == {
        AdminRole.GLOBAL,
        AdminRole.PRIVILEGED_AUTHENTICATION,
        AdminRole.AUTHENTICATION,
    }
    assert not roles_may_manage_security_info(set())


def test_only_a_global_admin_clears_an_administrator(user_factory, meta):
    target = user_factory(roles=("helpdesk_admin",), auth_email="h@mail.example")
    add_app(target)
    with pytest.raises(PermissionDenied):
        clear_security_info(
            actor=user_factory(roles=("privileged_authentication_admin",)), user=target, meta=meta
        )
    assert AuthenticatorApp.objects.filter(user=target).exists()
    clear_security_info(actor=user_factory(roles=("global_admin",)), user=target, meta=meta)
    assert not AuthenticatorApp.objects.filter(user=target).exists()


def test_clearing_someone_who_never_registered_still_records_it(user_factory, meta):
    person = user_factory()
    cleared = clear_security_info(
        actor=user_factory(roles=("authentication_admin",)), user=person, meta=meta
    )
    assert (cleared.apps, cleared.answers, cleared.proofs) == (0, 0, ())
    event = AuditEvent.objects.get(activity="registration.cleared_by_admin")
    assert event.details["confirmation_dropped"] is False


# --- custom questions --------------------------------------------------------------------


def test_deleting_a_custom_question_takes_only_its_answers(user_factory, meta):
    kept = CustomQuestion.objects.create(text="Which harbour did you sail from first?")
    gone = CustomQuestion.objects.create(text="What was your first boat called?")
    person = user_factory()
    answer(person, 2, keys=(f"{CUSTOM_PREFIX}{kept.pk}", f"{CUSTOM_PREFIX}{gone.pk}"))
    other = user_factory()
    answer(other, 0, keys=(f"{CUSTOM_PREFIX}{gone.pk}",))
    admin = user_factory(roles=("security_admin",))

    removed = delete_custom_question(actor=admin, question=gone, meta=meta)

    assert removed == 2
    assert not CustomQuestion.objects.filter(pk=gone.pk).exists()
    assert set(
        SecurityAnswer.objects.filter(user=person).values_list("question_key", flat=True)
    ) == {
        "predefined:1",
        "predefined:2",
        f"{CUSTOM_PREFIX}{kept.pk}",
    }
    assert not SecurityAnswer.objects.filter(user=other).exists()
    event = AuditEvent.objects.get(activity="registration.custom_question_deleted")
    assert event.details["registrations_removed"] == 2 and event.actor == admin


def test_deleting_a_custom_question_needs_the_policy_permission(user_factory, meta):
    question = CustomQuestion.objects.create(text="What was your first boat called?")
    with pytest.raises(PermissionDenied):
        delete_custom_question(
            actor=user_factory(roles=("helpdesk_admin",)), question=question, meta=meta
        )
    assert CustomQuestion.objects.filter(pk=question.pk).exists()


def test_clearing_ends_open_proofs_and_identity_windows(user_factory, person, meta):
    open_reset_policy()
    prove_by_email(person, meta)
    assert identity.has_fresh_identity(person, SESSION)
    past_the_send_cooldown()  # one code to one inbox a minute (A5)
    identity.start_identity_proof(
        user=person, session="other-session", kind=MethodKind.EMAIL, meta=meta
    )
    code = code_for(person.auth_email)
    admin = user_factory(roles=("authentication_admin",))
    clear_security_info(actor=admin, user=person, meta=meta)
    assert not identity.has_fresh_identity(person, SESSION)
    with pytest.raises(ProofError):
        identity.finish_identity_proof(user=person, session="other-session", answer=code, meta=meta)


def _told(recipient, purpose="registration.notification"):
    return delivered(recipient=recipient).filter(purpose=purpose).count()


def test_an_administrators_change_is_told_to_the_old_and_new_address_and_number(
    user_factory, person, meta
):
    admin = user_factory(roles=("authentication_admin",))
    set_authentication_contact(
        actor=admin,
        user=person,
        values={"auth_email": "new@mail.example", "mobile_phone": "+31 6 87654321"},
        meta=meta,
    )
    assert _told("p@mail.example") and _told("new@mail.example")
    assert _told("+31612345678") and _told("+31687654321")


def test_clearing_is_told_to_the_person_before_their_addresses_go(user_factory, person, meta):
    add_app(person)
    admin = user_factory(roles=("authentication_admin",))
    clear_security_info(actor=admin, user=person, meta=meta, include_contact=True)
    assert _told("p@mail.example") >= 2  # the app and the address itself
    assert _told("+31612345678") == 1
