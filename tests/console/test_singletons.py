"""Settings with one row open as their page: never a list of one, nothing to add or delete."""

import pytest
from django.apps import apps

from tests.conftest import DEFAULT_PASSWORD, open_reset_policy

pytestmark = pytest.mark.django_db

SINGLETONS = [
    ("policy", "ssprpolicy", "Self-service password reset policy"),
    ("policy", "passwordsettings", None),
    ("registration", "registrationcampaign", "Registration campaign"),
    ("accounts", "organisation", None),
    ("channels", "channelsettings", None),
    ("reports", "reportsettings", None),
]


@pytest.fixture
def admin_client(client, user_factory):
    open_reset_policy()
    admin = user_factory(roles=("global_admin",))
    response = client.post("/signin", {"user_id": admin.user_id, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return client


@pytest.mark.parametrize(("app", "model", "title"), SINGLETONS)
def test_the_link_opens_the_one_row_and_nothing_else_is_offered(admin_client, app, model, title):
    row, _created = apps.get_model(app, model).objects.get_or_create(pk=1)
    listing = admin_client.get(f"/console/{app}/{model}/")
    assert listing.status_code == 302
    assert listing["Location"] == f"/console/{app}/{model}/{row.pk}/change/"
    page = admin_client.get(listing["Location"]).content.decode()
    assert "Save and add another" not in page and "Change " not in page.split("<h1")[1][:80]
    if title:
        assert f"<h1>{title}</h1>" in page or f">{title}</h1>" in page
    assert admin_client.get(f"/console/{app}/{model}/add/").status_code == 403
    assert admin_client.get(f"/console/{app}/{model}/{row.pk}/delete/").status_code == 403


def test_without_its_row_the_link_opens_the_form_that_creates_it(admin_client):
    apps.get_model("reports", "reportsettings").objects.all().delete()
    listing = admin_client.get("/console/reports/reportsettings/")
    assert listing["Location"] == "/console/reports/reportsettings/add/"
    response = admin_client.post(listing["Location"], {"cost_per_ticket": "30", "currency": "EUR"})
    assert response.status_code == 302
    assert apps.get_model("reports", "reportsettings").objects.get().pk == 1


@pytest.mark.parametrize(("app", "model", "title"), SINGLETONS)
def test_the_page_is_named_once_and_its_trail_ends_there(admin_client, app, model, title):
    """No subtitle repeating the row's name, no crumb to the list that leads back here."""
    row, _created = apps.get_model(app, model).objects.get_or_create(pk=1)
    response = admin_client.get(f"/console/{app}/{model}/{row.pk}/change/")
    page = response.content.decode()
    name = response.context["title"]
    trail = page.split('class="breadcrumbs"')[1].split("</ol>")[0]
    assert f'<li aria-current="page">{name}</li>' in trail
    assert f"/console/{app}/{model}/" not in trail  # the list only leads back here
    assert f"/console/{app}/" in trail  # the section does
    assert "<h2>" not in page.split("<h1")[1].split("<form")[0]  # no subtitle
    assert page.count(f"<title>{name} | ") == 1
