"""The console: reached only through /signin, every change audited, no privilege escalation."""

import pytest

from opensspr.accounts.models import RoleAssignment, User
from opensspr.audit.models import AuditEvent
from opensspr.policy.models import PasswordSettings
from opensspr.signin import lockout
from opensspr.signin.services import sign_in
from tests.conftest import DEFAULT_PASSWORD
from tests.console.forms import user_form_data

pytestmark = pytest.mark.django_db


def _signed_in(client, user):
    response = client.post("/signin", {"user_id": user.user_id, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return client


def test_console_login_goes_through_the_sign_in_page(client):
    response = client.get("/console/login/?next=/console/")
    assert response.status_code == 302
    assert response["Location"] == "/signin?next=%2Fconsole%2F"
    assert client.get("/console/").status_code == 302


def test_members_without_a_role_cannot_enter(client, user_factory):
    _signed_in(client, user_factory())
    assert client.get("/console/").status_code == 302


def test_editing_a_user_is_audited_with_field_names_only(client, user_factory):
    admin = user_factory(roles=("user_admin",))
    target = user_factory(mobile_phone="+31 6 12345678")
    _signed_in(client, admin)
    response = client.post(
        f"/console/accounts/user/{target.pk}/change/",
        user_form_data(target, display_name="Renamed", mobile_phone="+31 6 87654321"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    target.refresh_from_db()
    assert target.display_name == "Renamed" and target.mobile_phone == "+31687654321"
    event = AuditEvent.objects.get(activity="console.object_changed")
    assert event.actor == admin and event.target == target
    assert event.details["fields"] == ["display_name", "mobile_phone"]
    assert "87654321" not in str(event.details)


def test_policy_changes_are_audited_with_old_and_new_values(client, user_factory):
    admin = user_factory(roles=("global_admin",))
    PasswordSettings.objects.get_or_create(pk=1)
    _signed_in(client, admin)
    response = client.post(
        "/console/policy/passwordsettings/1/change/",
        {
            "profile": "nist_800_63b_4",
            "nist_min_length": "15",
            "passwords_expire": "on",
            "expiry_days": "90",
            "custom_banned_terms": "lakeside\nharbour",
        },
    )
    assert response.status_code == 302
    settings = PasswordSettings.objects.get(pk=1)
    assert settings.profile == "nist_800_63b_4" and settings.banned_terms == ("lakeside", "harbour")
    event = AuditEvent.objects.get(activity="console.object_changed")
    assert {"field": "profile", "old": "cloud", "new": "nist_800_63b_4"} in event.details["values"]


def test_custom_banned_list_is_validated_in_the_console(client, user_factory):
    _signed_in(client, user_factory(roles=("global_admin",)))
    response = client.post(
        "/console/policy/passwordsettings/1/change/",
        {
            "profile": "cloud",
            "nist_min_length": "15",
            "expiry_days": "90",
            "custom_banned_terms": "abc\nthistermiswaytoolong",
        },
    )
    assert response.status_code == 200
    assert PasswordSettings.objects.get(pk=1).banned_terms == ()
    assert "abc" in response.content.decode()


def test_the_password_policy_exists_from_the_start(client, user_factory):
    _signed_in(client, user_factory(roles=("global_admin",)))
    assert PasswordSettings.objects.filter(pk=1).exists()
    assert client.get("/console/policy/passwordsettings/add/").status_code == 403


def test_global_admin_grants_a_role_and_it_is_audited(client, user_factory):
    admin = user_factory(roles=("global_admin",))
    target = user_factory()
    _signed_in(client, admin)
    data = user_form_data(
        target,
        **{
            "role_assignments-TOTAL_FORMS": "1",
            "role_assignments-0-role": "helpdesk_admin",
            "role_assignments-0-user": str(target.pk),
        },
    )
    response = client.post(f"/console/accounts/user/{target.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert set(RoleAssignment.objects.filter(user=target).values_list("role", flat=True)) == {
        "helpdesk_admin"
    }
    events = AuditEvent.objects.filter(activity="console.object_changed", target=target)
    roles = [e for e in events if e.details["fields"] == ["accounts.roleassignment"]]
    assert len(roles) == 1
    assert "Helpdesk administrator" in roles[0].details["values"]["added"][0]


def test_user_admin_cannot_grant_roles_or_touch_administrators(client, user_factory):
    user_admin = user_factory(roles=("user_admin",))
    global_admin = user_factory(roles=("global_admin",))
    _signed_in(client, user_admin)
    data = user_form_data(
        user_admin,
        **{
            "role_assignments-TOTAL_FORMS": "1",
            "role_assignments-0-role": "global_admin",
            "role_assignments-0-user": str(user_admin.pk),
        },
    )
    client.post(f"/console/accounts/user/{user_admin.pk}/change/", data)
    assert not RoleAssignment.objects.filter(user=user_admin, role="global_admin").exists()
    response = client.post(
        f"/console/accounts/user/{global_admin.pk}/change/",
        user_form_data(global_admin, auth_email="attacker@evil.example"),
    )
    assert response.status_code == 403
    global_admin.refresh_from_db()
    assert global_admin.auth_email == ""


def test_helpdesk_cannot_reset_an_administrators_password(client, user_factory, meta):
    helpdesk = user_factory(roles=("helpdesk_admin",))
    global_admin = user_factory(roles=("global_admin",))
    _signed_in(client, helpdesk)
    response = client.post(
        "/console/accounts/user/",
        {
            "action": "reset_with_temporary_password",
            "_selected_action": [global_admin.pk],
        },
    )
    assert response.status_code == 302
    global_admin.refresh_from_db()
    assert global_admin.check_password(DEFAULT_PASSWORD) and not global_admin.must_change_password


def test_helpdesk_unlocks_a_member_and_it_is_audited(client, user_factory, meta):
    helpdesk = user_factory(roles=("helpdesk_admin",))
    member = user_factory()
    for i in range(10):
        sign_in(identifier=member.user_id, password=f"Wrong-{i}", meta=meta)
    key = lockout.lockout_key(member.user_id_key)
    assert lockout.get_lock_state(key).locked_until is not None
    _signed_in(client, helpdesk)
    client.post(
        "/console/accounts/user/", {"action": "unlock_accounts", "_selected_action": [member.pk]}
    )
    assert lockout.get_lock_state(key).locked_until is None
    assert AuditEvent.objects.filter(
        activity="signin.unlocked_by_admin", target=member, actor=helpdesk
    ).exists()


def test_temporary_password_page_is_not_cached(client, user_factory):
    _signed_in(client, user_factory(roles=("global_admin",)))
    member = user_factory()
    response = client.post(
        "/console/accounts/user/",
        {
            "action": "reset_with_temporary_password",
            "_selected_action": [member.pk],
            "post": "yes",
        },
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    member.refresh_from_db()
    assert member.must_change_password
    assert User.objects.get(pk=member.pk).check_password(response.context["password"])


def test_django_admins_own_password_form_is_not_a_second_path(client, user_factory):
    helpdesk = user_factory(roles=("helpdesk_admin",))
    _signed_in(client, helpdesk)
    response = client.get("/console/password_change/")
    assert response.status_code == 302 and response["Location"] == "/password/change"
    client.post(
        "/console/password_change/",
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": "a",
            "new_password2": "a",
        },
    )
    helpdesk.refresh_from_db()
    assert helpdesk.check_password(DEFAULT_PASSWORD)


def test_signed_in_member_gets_a_no_access_page_not_a_loop(client, user_factory):
    _signed_in(client, user_factory())
    response = client.get("/console/", follow=True)
    assert response.status_code == 403
    assert "No access to the console" in response.content.decode()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("profile", "nist_800_63b_4"),
        ("nist_min_length", "20"),
        ("passwords_expire", ""),
        ("expiry_days", "180"),
        ("custom_banned_terms", "lakeside"),
    ],
)
def test_every_password_policy_field_can_be_changed_and_is_audited(
    client, user_factory, field, value
):
    PasswordSettings.objects.get_or_create(pk=1)
    _signed_in(client, user_factory(roles=("global_admin",)))
    data = {
        "profile": "cloud",
        "nist_min_length": "15",
        "passwords_expire": "on",
        "expiry_days": "90",
        "custom_banned_terms": "",
    }
    if value:
        data[field] = value
    else:
        data.pop(field)
    response = client.post("/console/policy/passwordsettings/1/change/", data)
    assert response.status_code == 302
    event = AuditEvent.objects.get(activity="console.object_changed")
    assert event.details["fields"] == [field]
    assert [v["field"] for v in event.details["values"]] == [field]


def test_temporary_password_for_a_synced_user_is_refused_clearly(client, user_factory, meta):
    from opensspr.accounts.services import UserData
    from opensspr.directory.sync_users import create_synced_user

    synced = create_synced_user(
        data=UserData("sam@contoso.example", "Sam"), dn="uid=sam,dc=contoso", meta=meta
    )
    _signed_in(client, user_factory(roles=("global_admin",)))
    response = client.post(
        "/console/accounts/user/",
        {
            "action": "reset_with_temporary_password",
            "_selected_action": [synced.pk],
            "post": "yes",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "can&#x27;t be reached or isn&#x27;t configured" in response.content.decode()


def test_every_inline_names_its_plural_itself():
    """Django makes an inline's plural by adding an English "s" to a translated singular:
    "Beheerdersrols" in Dutch. Every inline that names itself names its plural too."""
    from opensspr.console.site import console_site

    unnamed = [
        f"{type(model_admin).__name__}.{inline.__name__}"
        for model_admin in console_site._registry.values()
        for inline in model_admin.inlines
        if "verbose_name" in vars(inline) and "verbose_name_plural" not in vars(inline)
    ]
    assert not unnamed
