"""The helpdesk's actions on a person's console page: role rules, confirmation, audit."""

import re

import pytest

from opensspr.accounts.models import User
from opensspr.audit.models import AuditEvent
from opensspr.registration.access_passes import sign_in_with_access_pass
from opensspr.registration.models import AccessPass, AccessPassPolicy
from opensspr.resets.blocks import may_lift_reset_block
from opensspr.signin import lockout
from opensspr.signin.services import sign_in
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def _signed_in(client, user):
    response = client.post("/signin", {"user_id": user.user_id, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return client


def _url(person, what):
    return f"/console/accounts/user/{person.pk}/helpdesk/{what}/"


@pytest.fixture
def helpdesk(client, user_factory):
    admin = user_factory(roles=("helpdesk_admin",))
    _signed_in(client, admin)
    return admin


@pytest.fixture
def member(user_factory):
    return user_factory()


def test_the_persons_page_offers_the_helpdesk_tools(client, helpdesk, member):
    page = client.get(f"/console/accounts/user/{member.pk}/change/").content.decode()
    for tool in ("tool-access-pass", "tool-temporary-password", "tool-unlock", "tool-activity"):
        assert f'id="{tool}"' in page
    assert "No temporary access pass." in page


def test_a_higher_role_gets_no_tools_and_every_action_is_refused(client, helpdesk, user_factory):
    higher = user_factory(roles=("user_admin",))
    page = client.get(f"/console/accounts/user/{higher.pk}/change/").content.decode()
    assert 'id="tool-access-pass"' not in page
    for what in ("access-pass", "access-pass/revoke", "temporary-password", "unlock", "activity"):
        assert client.get(_url(higher, what)).status_code == 403
        assert client.post(_url(higher, what)).status_code == 403
    assert not AccessPass.objects.exists()
    higher.refresh_from_db()
    assert higher.check_password(DEFAULT_PASSWORD)


def test_issuing_a_pass_confirms_then_shows_it_once(client, helpdesk, member, meta):
    confirm = client.get(_url(member, "access-pass"))
    assert confirm.status_code == 200 and not AccessPass.objects.exists()
    assert 'id="issue-pass"' in confirm.content.decode()
    response = client.post(_url(member, "access-pass"), {"lifetime_minutes": 60, "one_time": "on"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    passcode = re.search(r'id="access-pass"[^>]*>([^<]+)<', response.content.decode()).group(1)
    assert (
        sign_in_with_access_pass(identifier=member.user_id, passcode=passcode, meta=meta).user
        == member
    )
    page = client.get(f"/console/accounts/user/{member.pk}/change/").content.decode()
    assert passcode not in page and "used (one-time)" in page
    assert AuditEvent.objects.filter(
        activity="access_pass.issued", actor=helpdesk, target=member
    ).exists()


def test_a_lifetime_past_the_policy_maximum_is_refused(client, helpdesk, member):
    response = client.post(_url(member, "access-pass"), {"lifetime_minutes": 43200})
    assert response.status_code == 200 and not AccessPass.objects.exists()
    assert "errorlist" in response.content.decode()


def test_revoking_confirms_first(client, helpdesk, member):
    client.post(_url(member, "access-pass"), {"lifetime_minutes": 60})
    page = client.get(f"/console/accounts/user/{member.pk}/change/").content.decode()
    assert 'id="revoke-pass"' in page
    assert client.get(_url(member, "access-pass/revoke")).status_code == 200
    assert AccessPass.objects.get(user=member).revoked_at is None
    client.post(_url(member, "access-pass/revoke"))
    assert AccessPass.objects.get(user=member).revoked_at is not None
    assert AuditEvent.objects.filter(activity="access_pass.revoked", actor=helpdesk).exists()


def test_a_temporary_password_asks_for_confirmation_then_is_shown_once(client, helpdesk, member):
    confirm = client.get(_url(member, "temporary-password"))
    assert confirm.status_code == 200 and 'id="helpdesk-confirm"' in confirm.content.decode()
    member.refresh_from_db()
    assert not member.must_change_password
    response = client.post(_url(member, "temporary-password"))
    assert "no-store" in response["Cache-Control"]
    member.refresh_from_db()
    assert member.must_change_password
    assert User.objects.get(pk=member.pk).check_password(response.context["password"])


def test_the_bulk_temporary_password_action_confirms_first(client, helpdesk, member):
    action = {"action": "reset_with_temporary_password", "_selected_action": [member.pk]}
    confirm = client.post("/console/accounts/user/", action)
    assert confirm.status_code == 200 and 'name="post" value="yes"' in confirm.content.decode()
    member.refresh_from_db()
    assert not member.must_change_password
    client.post("/console/accounts/user/", {**action, "post": "yes"})
    member.refresh_from_db()
    assert member.must_change_password


def test_unlock_confirms_then_ends_the_lockout_and_is_audited(client, helpdesk, member, meta):
    for i in range(10):
        sign_in(identifier=member.user_id, password=f"Wrong-{i}", meta=meta)
    key = lockout.lockout_key(member.user_id_key)
    assert "in the on-premises directory" not in client.get(_url(member, "unlock")).content.decode()
    assert lockout.get_lock_state(key).locked_until is not None
    client.post(_url(member, "unlock"))
    assert lockout.get_lock_state(key).locked_until is None
    event = AuditEvent.objects.get(activity="signin.unlocked_by_admin")
    assert event.actor == helpdesk and event.details["directory"] is False


def test_recent_activity_shows_labels_of_the_last_30_days(client, helpdesk, member, meta, clock):
    sign_in(identifier=member.user_id, password="Wrong-1", meta=meta)
    clock.advance(days=31)
    sign_in(identifier=member.user_id, password=DEFAULT_PASSWORD, meta=meta)
    client.post(_url(member, "access-pass"), {"lifetime_minutes": 60})
    page = client.get(_url(member, "activity")).content.decode()
    assert "Signed in" in page and "signin.succeeded" not in page
    assert "Sign-in failed" not in page  # 31 days ago: out of the window
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    issued = next(r for r in rows if "Temporary access pass issued" in r)
    assert helpdesk.user_id in issued
    assert "the person" in next(r for r in rows if "Signed in" in r)


def test_a_password_administrator_can_be_helped_by_a_helpdesk_administrator(
    client, helpdesk, user_factory
):
    password_admin = user_factory(roles=("password_admin",))
    response = client.post(_url(password_admin, "access-pass"), {"lifetime_minutes": 60})
    assert response.status_code == 200
    assert AccessPass.objects.filter(user=password_admin).exists()


def test_lifting_a_block_follows_the_role_rule(helpdesk, user_factory):
    assert may_lift_reset_block(helpdesk, user_factory(roles=("password_admin",)))
    assert not may_lift_reset_block(helpdesk, user_factory(roles=("user_admin",)))
    assert not may_lift_reset_block(helpdesk, helpdesk)


def test_the_pass_policy_is_edited_and_audited_by_a_global_administrator(client, user_factory):
    _signed_in(client, user_factory(roles=("global_admin",)))
    url = "/console/registration/accesspasspolicy/1/change/"
    data = {
        "default_lifetime_minutes": 120,
        "max_lifetime_minutes": 60,
        "one_time_by_default": "on",
        "length": 20,
    }
    refused = client.post(url, data)
    assert refused.status_code == 200 and "can&#x27;t be longer than the maximum" in (
        refused.content.decode()
    )
    client.post(url, {**data, "max_lifetime_minutes": 24 * 60})
    policy = AccessPassPolicy.objects.get(pk=1)
    assert (policy.default_lifetime_minutes, policy.max_lifetime_minutes) == (120, 24 * 60)
    event = AuditEvent.objects.get(activity="console.object_changed")
    assert {"field": "length", "old": 16, "new": 20} in event.details["values"]


def test_a_helpdesk_administrator_can_not_change_the_pass_policy(client, helpdesk):
    url = "/console/registration/accesspasspolicy/1/change/"
    assert client.post(url, {"length": 8}).status_code in (302, 403)
    assert AccessPassPolicy.objects.get(pk=1).length == 16
