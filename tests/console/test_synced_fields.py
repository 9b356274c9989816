"""Only directory sync sets a user's source and DN (a DN is where a reset writes a password)."""

import pytest
from django.core.exceptions import ValidationError

from opensspr.accounts.importing import import_users
from opensspr.accounts.services import UserData, create_user
from tests.console.forms import user_form_data
from tests.console.test_console import _signed_in

pytestmark = pytest.mark.django_db


def test_the_console_refuses_to_set_source_or_dn(client, user_factory):
    helpdesk = user_factory(roles=("helpdesk_admin",))
    target = user_factory()
    _signed_in(client, helpdesk)
    page = client.get(f"/console/accounts/user/{target.pk}/change/").content.decode()
    assert 'name="source"' not in page and 'name="on_premises_dn"' not in page
    response = client.post(
        f"/console/accounts/user/{target.pk}/change/",
        user_form_data(
            target,
            display_name="Renamed",
            source="synced",
            on_premises_dn="cn=admin,dc=example,dc=org",
        ),
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.display_name == "Renamed"
    assert (target.source, target.on_premises_dn) == ("cloud", "")


def test_the_console_shows_a_synced_users_dn_read_only(client, user_factory):
    admin = user_factory(roles=("global_admin",))
    synced = user_factory(source="synced", on_premises_dn="uid=sam,ou=people,dc=example,dc=org")
    _signed_in(client, admin)
    page = client.get(f"/console/accounts/user/{synced.pk}/change/").content.decode()
    assert "uid=sam,ou=people,dc=example,dc=org" in page
    assert 'name="on_premises_dn"' not in page


@pytest.mark.parametrize(
    "fields",
    [{"source": "synced", "on_premises_dn": "uid=x,dc=example"}, {"on_premises_dn": "uid=x"}],
)
def test_create_user_refuses_source_and_dn(meta, fields):
    with pytest.raises(ValidationError) as refused:
        create_user(data=UserData("x@example.org", "X", **fields), meta=meta)
    assert "source" in refused.value.message_dict


def test_csv_import_refuses_synced_rows(meta):
    row = {
        "user_id": "x@example.org",
        "display_name": "X",
        "source": "synced",
        "on_premises_dn": "uid=x",
    }
    report = import_users([(2, row)], meta=meta)
    assert report.imported == 0
    assert "sync" in report.errors[0].messages[0]


def test_directory_page_seals_the_password_and_never_shows_it(client, user_factory):
    from opensspr.audit.models import AuditEvent
    from opensspr.core.crypto import unseal
    from opensspr.directory.models import DirectorySettings

    _signed_in(client, user_factory(roles=("global_admin",)))
    form = {
        "kind": "openldap",
        "transport": "direct",
        "urls": "ldaps://ldap.example.org:636",
        "tls_mode": "ldaps",
        "bind_dn": "cn=opensspr,dc=example,dc=org",
        "bind_password": "Service-Secret-42",
        "base_dn": "dc=example,dc=org",
        "user_filter": "(objectClass=inetOrgPerson)",
        "group_filter": "(objectClass=groupOfNames)",
        "user_id_attribute": "uid",
        "display_name_attribute": "displayName",
        "email_attribute": "mail",
        "disabled_attribute": "pwdAccountLockedTime",
        "disabled_value": "000001010000Z",
        "group_name_attribute": "cn",
        "member_attribute": "member",
        "sync_interval_minutes": "15",
        "full_sync_interval_hours": "24",
        "role_mappings-TOTAL_FORMS": "1",
        "role_mappings-INITIAL_FORMS": "0",
        "role_mappings-0-group_dn": "cn=admins,ou=groups,dc=example,dc=org",
        "role_mappings-0-role": "helpdesk_admin",
    }
    listing = "/console/directory/directorysettings/"
    # One directory: the side bar's link opens its form, never a list of none or one.
    assert client.get(listing).url == "/console/directory/directorysettings/add/"
    response = client.post("/console/directory/directorysettings/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    stored = DirectorySettings.objects.get(pk=1)
    assert client.get(listing).url == "/console/directory/directorysettings/1/change/"
    assert client.get("/console/directory/directorysettings/add/").status_code == 403
    assert unseal(stored.bind_password_sealed) == "Service-Secret-42"
    assert stored.role_mappings.get().role == "helpdesk_admin"
    page = client.get("/console/directory/directorysettings/1/change/").content.decode()
    assert "Service-Secret-42" not in page and stored.bind_password_sealed not in page
    assert "Service-Secret-42" not in str(list(AuditEvent.objects.values("details")))
    form["urls"] = "ldap://ldap.example.org"  # plain URL with LDAPS mode: refused
    refused = client.post("/console/directory/directorysettings/1/change/", form)
    assert refused.status_code == 200


def test_the_directorys_own_password_rules_are_set_on_the_directory_page(client, user_factory):
    """A Samba domain lacks the policy-hints control: an administrator must be able to turn
    it off here (the doctor says to), or every reset is refused."""
    from opensspr.directory.models import DirectorySettings

    _signed_in(client, user_factory(roles=("global_admin",)))
    page = client.get("/console/directory/directorysettings/add/").content.decode()
    assert (
        'name="ad_policy_hints"' in page
        and "checked" in page.split('name="ad_policy_hints"')[1][:80]
    )
    assert 'name="ppolicy_default_dn"' in page
    form = {
        "kind": "active_directory",
        "transport": "direct",
        "urls": "ldaps://dc1.example.org:636",
        "tls_mode": "ldaps",
        "bind_dn": "CN=opensspr,CN=Users,DC=example,DC=org",
        "bind_password": "Service-Secret-42",
        "base_dn": "DC=example,DC=org",
        "user_filter": "(&(objectClass=user)(objectCategory=person))",
        "group_filter": "(objectClass=group)",
        "user_id_attribute": "sAMAccountName",
        "display_name_attribute": "displayName",
        "email_attribute": "mail",
        "disabled_attribute": "userAccountControl",
        "disabled_value": "2",
        "group_name_attribute": "cn",
        "member_attribute": "member",
        "sync_interval_minutes": "15",
        "full_sync_interval_hours": "24",
        "role_mappings-TOTAL_FORMS": "0",
        "role_mappings-INITIAL_FORMS": "0",
    }  # the box left unticked: resets skip history, as on any Samba DC
    response = client.post("/console/directory/directorysettings/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert DirectorySettings.objects.get(pk=1).ad_policy_hints is False
    form |= {"ad_policy_hints": "on", "ppolicy_default_dn": "cn=default,ou=policies,dc=x"}
    response = client.post("/console/directory/directorysettings/1/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    stored = DirectorySettings.objects.get(pk=1)
    assert stored.ad_policy_hints is True
    assert stored.ppolicy_default_dn == "cn=default,ou=policies,dc=x"
