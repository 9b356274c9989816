"""The impact preview: who a policy change or a question's removal would strand (§2.4)."""

import pytest
from django.forms.models import model_to_dict

from opensspr.accounts.services import create_group
from opensspr.audit.models import AuditEvent
from opensspr.methods.models import SecurityAnswer
from opensspr.methods.questions import CUSTOM_PREFIX
from opensspr.policy.eligibility import Reason
from opensspr.policy.models import CustomQuestion, SsprPolicy
from opensspr.policy.reset_selectors import get_sspr_policy
from opensspr.reports.impact import get_policy_impact, get_question_removal_impact
from tests.conftest import open_reset_policy, update_policy
from tests.reports.population import add_app, answer

pytestmark = pytest.mark.django_db

POLICY_URL = "/console/policy/ssprpolicy/1/change/"
MOBILE = "+31 6 12345678"
OFFICE = "+31 20 1234567"


def _candidate(**changes):
    """An unsaved copy of the current policy with ``changes``, as the console builds it."""
    current = get_sspr_policy()
    values = model_to_dict(current, exclude=["id", "group"])
    return SsprPolicy(pk=1, **({"group": current.group} | values | changes))


def _ids(impact):
    return sorted(entry.user.user_id for entry in impact.losing)


@pytest.fixture
def population(user_factory):
    """The reference's §2.4 table, plus the cases that make it tricky.

    Policy: everyone, email + mobile (text and call) + app allowed, one method required.
    """
    open_reset_policy(allow_office_voice=False)
    people = {
        "one": user_factory("one@contoso.example", auth_email="one@mail.example"),
        "two": user_factory(
            "two@contoso.example", auth_email="two@mail.example", mobile_phone=MOBILE
        ),
        "three": user_factory(
            "three@contoso.example", auth_email="three@mail.example", mobile_phone=MOBILE
        ),
        # A text and a call to one number are one piece of data (attack A17).
        "mobile": user_factory("mobile@contoso.example", mobile_phone=MOBILE),
        "none": user_factory("none@contoso.example"),
        "disabled": user_factory(
            "disabled@contoso.example",
            auth_email="d@mail.example",
            mobile_phone=MOBILE,
            account_enabled=False,
        ),
        # Administrators always need two methods, whatever the policy requires.
        "admin2": user_factory(
            "admin2@contoso.example",
            auth_email="a2@mail.example",
            mobile_phone=MOBILE,
            roles=("helpdesk_admin",),
        ),
        "admin1": user_factory(
            "admin1@contoso.example", auth_email="a1@mail.example", roles=("helpdesk_admin",)
        ),
        "office": user_factory("office@contoso.example", office_phone=OFFICE),
        "app": user_factory("app@contoso.example"),
    }
    add_app(people["three"])
    add_app(people["app"])
    return people


def test_requiring_two_methods_strands_everyone_with_one(population):
    impact = get_policy_impact(current=get_sspr_policy(), candidate=_candidate(methods_required=2))
    assert impact.evaluated == len(population)
    assert _ids(impact) == ["app@contoso.example", "mobile@contoso.example", "one@contoso.example"]
    assert {e.reason for e in impact.losing} == {Reason.NOT_ENOUGH_METHODS}
    assert impact.gaining == ()


def test_requiring_one_method_again_gives_it_back(population):
    update_policy(methods_required=2)
    impact = get_policy_impact(current=get_sspr_policy(), candidate=_candidate(methods_required=1))
    assert impact.losing == ()
    assert sorted(u.user_id for u in impact.gaining) == [
        "app@contoso.example",
        "mobile@contoso.example",
        "one@contoso.example",
    ]


def test_swapping_allowed_methods_strands_those_without_the_new_ones(population):
    # Reference §2.4: office phone and email out, mobile and app in.
    update_policy(
        allow_email=True,
        allow_office_voice=True,
        allow_mobile_sms=False,
        allow_mobile_voice=False,
        allow_app_code=False,
    )
    impact = get_policy_impact(
        current=get_sspr_policy(),
        candidate=_candidate(
            allow_email=False,
            allow_office_voice=False,
            allow_mobile_sms=True,
            allow_mobile_voice=True,
            allow_app_code=True,
        ),
    )
    # "one" had only the email, "office" only the office phone; "two" and "three" keep
    # their mobile. Administrators need two allowed methods before and after: no change.
    assert _ids(impact) == ["office@contoso.example", "one@contoso.example"]
    gained = sorted(u.user_id for u in impact.gaining)
    assert gained == ["app@contoso.example", "mobile@contoso.example"]


def test_narrowing_the_scope_strands_people_outside_the_group(population, meta):
    pilot = create_group(name="Pilot", meta=meta)
    pilot.members.add(population["two"], population["one"])
    impact = get_policy_impact(
        current=get_sspr_policy(), candidate=_candidate(scope="selected", group=pilot)
    )
    assert _ids(impact) == [
        "app@contoso.example",
        "mobile@contoso.example",
        "three@contoso.example",
    ]
    assert {e.reason for e in impact.losing} == {Reason.NOT_IN_GROUP}
    # The scope doesn't apply to administrators (reference §3): admin2 is unaffected.


def test_excluding_administrators_strands_only_capable_administrators(population):
    impact = get_policy_impact(
        current=get_sspr_policy(), candidate=_candidate(admins_may_reset=False)
    )
    assert _ids(impact) == ["admin2@contoso.example"]
    assert impact.losing[0].reason == Reason.ADMIN_SSPR_DISABLED


def test_more_questions_to_register_strands_people_with_too_few_answers(user_factory):
    open_reset_policy(
        methods_required=2,
        allow_security_questions=True,
        questions_to_register=3,
        questions_to_reset=3,
    )
    four = user_factory(auth_email="four@mail.example")
    answer(four, 4)
    five = user_factory(auth_email="five@mail.example")
    answer(five, 5)
    impact = get_policy_impact(
        current=get_sspr_policy(), candidate=_candidate(questions_to_register=5)
    )
    assert [e.user for e in impact.losing] == [four]


def test_a_change_that_touches_no_one_strands_no_one(population):
    impact = get_policy_impact(current=get_sspr_policy(), candidate=_candidate(notify_users=False))
    assert impact.losing == () and impact.gaining == ()


# --- removing a custom question ----------------------------------------------------------


def test_removing_a_question_strands_those_left_with_too_few_answers(user_factory):
    open_reset_policy(methods_required=2, allow_security_questions=True, questions_to_register=3)
    question = CustomQuestion.objects.create(text="What was your first boat called?")
    key = f"{CUSTOM_PREFIX}{question.pk}"
    short = user_factory("short@contoso.example", auth_email="s@mail.example")
    answer(short, 2, keys=(key,))  # 3 answers, one of them to this question
    spare = user_factory("spare@contoso.example", auth_email="p@mail.example")
    answer(spare, 3, keys=(key,))  # 4 answers: still 3 left
    elsewhere = user_factory("elsewhere@contoso.example", auth_email="e@mail.example")
    answer(elsewhere, 3)

    impact = get_question_removal_impact(question)

    assert impact.evaluated == 2  # only people who answered it
    assert [e.user for e in impact.losing] == [short]
    # Measured without a trace: every answer is still there.
    assert SecurityAnswer.objects.filter(question_key=key).count() == 2
    assert SecurityAnswer.objects.count() == 3 + 4 + 3


# --- the console -------------------------------------------------------------------------


def _sign_in(client, user):
    # The session /signin would create; sign-in itself is tested in tests/signin.
    client.force_login(user)


def _policy_form(client, **changes):
    """What the console's policy form posts now, with ``changes`` (robust to new fields)."""
    form = client.get(POLICY_URL).context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = changes.get(name, form.initial.get(name, field.initial))
        if value is True:
            data[name] = "on"
        elif value not in (False, None):
            data[name] = str(getattr(value, "pk", value))
    return data


def test_the_console_asks_before_stranding_people_and_saves_on_confirmation(
    client, population, user_factory
):
    admin = user_factory("policy-admin@contoso.example", roles=("security_admin",))
    _sign_in(client, admin)
    data = _policy_form(client, methods_required=2)

    preview = client.post(POLICY_URL, data)

    assert preview.status_code == 200
    page = preview.content.decode()
    assert "3 people who can reset their password today would no longer be able to" in page
    assert all(f"{u}@contoso.example" in page for u in ("one", "mobile", "app"))
    assert "two@contoso.example" not in page
    assert "Save anyway" in page
    assert get_sspr_policy().methods_required == 1  # nothing saved yet
    assert not AuditEvent.objects.filter(activity="console.object_changed").exists()

    confirmed = client.post(POLICY_URL, data | {"_confirm_impact": "1", "_save": "Save"})

    assert confirmed.status_code == 302
    assert get_sspr_policy().methods_required == 2
    event = AuditEvent.objects.get(activity="console.object_changed")
    assert {"field": "methods_required", "old": 1, "new": 2} in event.details["values"]


def test_the_confirmation_page_reposts_exactly_what_was_typed(client, population, user_factory):
    _sign_in(client, user_factory(roles=("global_admin",)))
    data = _policy_form(client, methods_required=2, helpdesk_contact="https://help.example/a?b=1")
    page = client.post(POLICY_URL, data).content.decode()
    assert 'name="methods_required" value="2"' in page
    assert 'value="https://help.example/a?b=1"' in page
    assert 'name="_confirm_impact" value="1"' in page


def test_a_change_that_strands_no_one_is_saved_at_once(client, population, user_factory):
    _sign_in(client, user_factory(roles=("global_admin",)))
    data = _policy_form(client, allow_office_voice=True)
    response = client.post(POLICY_URL, data)
    assert response.status_code == 302
    assert get_sspr_policy().allow_office_voice


def test_an_invalid_change_shows_the_form_errors_not_the_preview(client, population, user_factory):
    _sign_in(client, user_factory(roles=("global_admin",)))
    data = _policy_form(client, methods_required=2, scope="selected")  # no group chosen
    response = client.post(POLICY_URL, data)
    assert response.status_code == 200
    assert "Choose the group" in response.content.decode()
    assert "Save anyway" not in response.content.decode()


def test_deleting_a_custom_question_shows_who_it_strands_first(client, user_factory):
    open_reset_policy(methods_required=2, allow_security_questions=True, questions_to_register=3)
    question = CustomQuestion.objects.create(text="What was your first boat called?")
    short = user_factory("short@contoso.example", auth_email="s@mail.example")
    answer(short, 2, keys=(f"{CUSTOM_PREFIX}{question.pk}",))
    _sign_in(client, user_factory(roles=("security_admin",)))
    url = f"/console/policy/customquestion/{question.pk}/delete/"

    page = client.get(url).content.decode()
    assert "1 person who can reset their password today would no longer be able to" in page
    assert "short@contoso.example" in page

    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not CustomQuestion.objects.filter(pk=question.pk).exists()
    assert SecurityAnswer.objects.filter(user=short).count() == 2
    assert AuditEvent.objects.filter(activity="registration.custom_question_deleted").exists()


def test_custom_questions_are_limited_in_number_and_length(client, user_factory):
    _sign_in(client, user_factory(roles=("security_admin",)))
    add = "/console/policy/customquestion/add/"
    too_short = client.post(add, {"text": "ab"})
    assert too_short.status_code == 200 and not CustomQuestion.objects.exists()
    too_long = client.post(add, {"text": "x" * 201})
    assert too_long.status_code == 200 and not CustomQuestion.objects.exists()
    assert client.post(add, {"text": "  What was   your first boat? "}).status_code == 302
    assert CustomQuestion.objects.get().text == "What was your first boat?"
    duplicate = client.post(add, {"text": "what was your FIRST boat?"})
    assert "already exists" in duplicate.content.decode()
    for n in range(2, 21):
        CustomQuestion.objects.create(text=f"Custom question number {n}?")
    twenty_first = client.post(add, {"text": "One question too many?"})
    assert twenty_first.status_code == 200
    assert "at most 20 custom questions" in twenty_first.content.decode()
    assert CustomQuestion.objects.count() == 20


def test_administrators_without_the_policy_permission_get_no_preview(
    client, population, user_factory
):
    glob = user_factory(roles=("global_admin",))
    _sign_in(client, glob)
    data = _policy_form(client, methods_required=2)
    _sign_in(client, user_factory(roles=("helpdesk_admin",)))
    response = client.post(POLICY_URL, data)
    assert response.status_code == 403
    assert "would no longer be able to" not in response.content.decode()
    assert get_sspr_policy().methods_required == 1
