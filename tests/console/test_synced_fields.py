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
