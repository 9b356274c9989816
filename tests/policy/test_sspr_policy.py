"""The SSPR policy: validation rules and facts read from the directory."""

import pytest
from django.core.exceptions import ValidationError

from opensspr.accounts.services import UserData, create_group
from opensspr.audit.models import AuditEvent
from opensspr.directory.sync_users import create_synced_user
from opensspr.methods.models import AuthenticatorApp, SecurityAnswer
from opensspr.policy.eligibility import Reason, Scope
from opensspr.policy.kinds import MethodKind
from opensspr.policy.models import SsprPolicy, SsprScope
from opensspr.policy.reset_selectors import eligibility_for, get_sspr_policy
from tests.conftest import DEFAULT_PASSWORD, update_policy

pytestmark = pytest.mark.django_db


def _policy(**fields):
    values = {
        "scope": SsprScope.ALL,
        "allow_email": True,
        "allow_mobile_sms": True,
        "allow_mobile_voice": True,
        "allow_office_voice": False,
        "allow_app_code": False,
        "allow_security_questions": False,
        "methods_required": 1,
    }
    return SsprPolicy(pk=1, **(values | fields))


def test_a_fresh_install_has_sspr_switched_off():
    policy = get_sspr_policy()
    assert policy.pk == 1 and policy.scope == SsprScope.NONE
    assert not policy.allow_security_questions
    assert {c.value for c in SsprScope} == {s.value for s in Scope}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"scope": SsprScope.SELECTED}, "Choose the group"),
        ({"questions_to_register": 3, "questions_to_reset": 4}, "more questions at reset"),
        (
            {
                "allow_email": False,
                "allow_mobile_sms": False,
                "allow_mobile_voice": False,
                "allow_app_code": True,
            },
            "can't be the only method",
        ),
        (
            {
                "methods_required": 2,
                "allow_mobile_sms": False,
                "allow_mobile_voice": False,
                "allow_app_code": True,
            },
            "can't be the only method",
        ),
        (
            {"methods_required": 2, "allow_mobile_sms": False, "allow_mobile_voice": False},
            "at least as many methods",
        ),
        ({"allow_app_notification": True, "methods_required": 2}, "not available yet"),
    ],
)
def test_impossible_policies_are_refused(fields, message):
    with pytest.raises(ValidationError, match=message):
        _policy(**fields).full_clean()


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"allow_app_code": True},
        {"methods_required": 2, "allow_app_code": True, "allow_office_voice": True},
        {"methods_required": 2},
    ],
)
def test_sensible_policies_are_accepted(fields):
    _policy(**fields).full_clean(validate_unique=False)


def test_facts_come_from_the_directory_and_registrations(user_factory, meta):
    update_policy(
        scope=SsprScope.ALL, allow_app_code=True, allow_security_questions=True, methods_required=2
    )
    person = user_factory(auth_email="p@mail.example", mobile_phone="+31 6 12345678")
    decision = eligibility_for(person)
    assert decision.eligible
    assert {m.kind for m in decision.methods} == {
        MethodKind.EMAIL,
        MethodKind.MOBILE_SMS,
        MethodKind.MOBILE_VOICE,
    }
    AuthenticatorApp.objects.create(user=person, secret_sealed="x")  # not confirmed: not counted
    assert MethodKind.APP_CODE not in {m.kind for m in eligibility_for(person).methods}
    for n in range(1, 5):
        SecurityAnswer.objects.create(user=person, question_key=f"predefined:{n}", answer_hash="h")
    assert MethodKind.SECURITY_QUESTIONS not in {m.kind for m in eligibility_for(person).methods}
    SecurityAnswer.objects.create(user=person, question_key="predefined:5", answer_hash="h")
    assert MethodKind.SECURITY_QUESTIONS in {m.kind for m in eligibility_for(person).methods}


def test_selected_scope_follows_nested_groups(user_factory, meta):
    pilot = create_group(name="Pilot", meta=meta)
    sales = create_group(name="Sales", meta=meta)
    pilot.member_groups.add(sales)
    update_policy(scope=SsprScope.SELECTED, group=pilot)
    inside = user_factory(auth_email="i@mail.example", groups=("Sales",))
    outside = user_factory(auth_email="o@mail.example")
    assert eligibility_for(inside).eligible
    assert eligibility_for(outside).reason == Reason.NOT_IN_GROUP


def test_unknown_users_and_synced_users_without_writeback(meta):
    update_policy(scope=SsprScope.ALL)
    assert eligibility_for(None).reason == Reason.UNKNOWN_USER
    synced = create_synced_user(
        data=UserData(
            "s@contoso.example",
            "S",
            auth_email="s@mail.example",
        ),
        dn="uid=s,dc=contoso",
        meta=meta,
    )
    assert eligibility_for(synced).reason == Reason.WRITEBACK_OFF
    update_policy(writeback_enabled=True)
    # No on-premises connector is configured yet: writeback is unreachable.
    assert eligibility_for(synced).reason == Reason.WRITEBACK_UNREACHABLE


def test_policy_changes_in_the_console_are_validated_audited_and_warned(client, user_factory):
    admin = user_factory(roles=("global_admin",))
    client.post("/signin", {"user_id": admin.user_id, "password": DEFAULT_PASSWORD})
    form = {
        "scope": "all",
        "methods_required": "1",
        "allow_email": "on",
        "allow_security_questions": "on",
        "questions_to_register": "5",
        "questions_to_reset": "3",
        "notify_users": "on",
        "notify_admins": "on",
        "unlock_without_reset": "on",
        "admins_may_reset": "on",
        "helpdesk_contact": "",
    }
    response = client.post("/console/policy/ssprpolicy/1/change/", form, follow=True)
    assert response.status_code == 200
    assert "Security questions are enabled" in response.content.decode()
    policy = SsprPolicy.objects.get(pk=1)
    assert policy.scope == "all" and policy.allow_security_questions
    event = AuditEvent.objects.get(activity="console.object_changed")
    assert {"field": "scope", "old": "none", "new": "all"} in event.details["values"]
    bad = client.post("/console/policy/ssprpolicy/1/change/", form | {"scope": "selected"})
    assert bad.status_code == 200 and "Choose the group" in bad.content.decode()


@pytest.mark.parametrize(
    ("contact", "valid"),
    [
        ("", True),
        ("https://help.example.org/password", True),
        ("helpdesk@example.org", True),
        ("javascript:alert(1)", False),
        ("ftp://help.example.org", False),
        ("call Bob", False),
    ],
)
def test_the_helpdesk_contact_is_a_link_an_address_or_empty(contact, valid):
    policy = _policy(helpdesk_contact=contact)
    if valid:
        policy.full_clean(validate_unique=False)
    else:
        with pytest.raises(ValidationError, match="https:// address or an email address"):
            policy.full_clean(validate_unique=False)


def test_the_app_notification_slot_is_shown_but_cannot_be_ticked(client, user_factory):
    admin = user_factory(roles=("global_admin",))
    client.post("/signin", {"user_id": admin.user_id, "password": DEFAULT_PASSWORD})
    html = client.get("/console/policy/ssprpolicy/1/change/").content.decode()
    assert "Authenticator app notification" in html
    assert 'name="allow_app_notification"' not in html


def test_the_administrator_policy_is_shown_explained_and_read_only(client, user_factory):
    admin = user_factory(roles=("global_admin",))
    client.post("/signin", {"user_id": admin.user_id, "password": DEFAULT_PASSWORD})
    html = client.get("/console/policy/ssprpolicy/1/change/").content.decode()
    assert "Administrator policy" in html
    assert "Two different methods at every reset" in html
    assert "Never security questions" in html
    assert "Helpdesk administrator" in html  # the roles it covers, by name
    assert 'name="administrator_policy"' not in html  # nothing to edit
