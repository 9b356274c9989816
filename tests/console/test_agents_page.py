"""The console's on-premises agents page: status first, a token shown once, revoke confirmed."""

import re

import pytest

from opensspr.accounts.models import RoleAssignment
from opensspr.accounts.roles import AdminRole
from opensspr.agents import services
from opensspr.agents.models import Agent
from opensspr.audit.models import AuditEvent
from opensspr.core import clock
from opensspr.directory.models import DirectorySettings
from tests.conftest import DEFAULT_PASSWORD, update_policy

pytestmark = pytest.mark.django_db
PAGE = "/console/agents/agent/"


@pytest.fixture
def admin_client(client, user_factory):
    admin = user_factory("global@example.org")
    RoleAssignment.objects.create(user=admin, role=AdminRole.GLOBAL)
    client.post("/signin", {"user_id": admin.user_id, "password": DEFAULT_PASSWORD})
    return client


def test_without_agent_mode_the_page_says_no_agent_is_needed(admin_client):
    page = admin_client.get(PAGE).content.decode()
    assert "No on-premises directory is configured" in page
    DirectorySettings.objects.create(pk=1, base_dn="dc=example,dc=org")
    page = admin_client.get(PAGE).content.decode()
    assert "direct mode" in page and "Not configured correctly" not in page


def test_before_any_agent_the_page_says_none_is_set_up(admin_client):
    DirectorySettings.objects.create(pk=1, transport="agent", base_dn="dc=example,dc=org")
    page = admin_client.get(PAGE).content.decode()
    assert "Not configured correctly" in page
    assert "No on-premises agent is set up yet" in page
    assert "Through on-premises agents" in page


def test_adding_an_agent_shows_its_token_once_and_keeps_only_a_digest(admin_client):
    assert admin_client.get(PAGE + "add/").status_code == 200
    response = admin_client.post(PAGE + "add/", {"name": "dc-site-a"})
    page = response.content.decode()
    token = re.search(r'id="enrolment-token"[^>]*>([^<]+)<', page).group(1)
    assert "no-store" in response["Cache-Control"]
    assert "--token-file -" in page and page.count(token) == 1  # shown once, not in a command
    agent = Agent.objects.get(name="dc-site-a")
    assert token.split(".", 1)[1] not in str(Agent.objects.values().get(pk=agent.pk))
    assert AuditEvent.objects.filter(activity="agent.created", target_label="dc-site-a").exists()
    assert token not in admin_client.get(PAGE).content.decode()  # never shown again
    assert "Waiting for enrolment" in admin_client.get(PAGE).content.decode()


def test_revoking_asks_first_then_refuses_the_agent(admin_client):
    admin_client.post(PAGE + "add/", {"name": "dc-site-a"})
    agent = Agent.objects.get()
    url = f"{PAGE}{agent.pk}/revoke/"
    confirm = admin_client.get(url)
    assert "undone" in confirm.content.decode()
    agent.refresh_from_db()
    assert agent.revoked_at is None  # a GET changes nothing
    assert admin_client.post(url).status_code == 302
    agent.refresh_from_db()
    assert agent.revoked_at is not None
    assert AuditEvent.objects.filter(activity="agent.revoked").exists()
    assert "Revoked" in admin_client.get(PAGE).content.decode()


def test_a_helpdesk_administrator_does_not_see_agents(client, user_factory):
    helpdesk = user_factory("helpdesk@example.org")
    RoleAssignment.objects.create(user=helpdesk, role=AdminRole.HELPDESK)
    client.post("/signin", {"user_id": helpdesk.user_id, "password": DEFAULT_PASSWORD})
    assert client.get(PAGE).status_code in (302, 403)
    assert client.post(PAGE + "add/", {"name": "x"}).status_code in (302, 403)
    assert not Agent.objects.exists()


def test_the_console_home_names_an_agent_problem_and_links_to_the_agents(admin_client, meta):
    DirectorySettings.objects.create(pk=1, transport="agent", base_dn="dc=example,dc=org")
    home = admin_client.get("/console/").content.decode()
    assert "No on-premises agent is set up yet" in home
    assert PAGE in home
    agent = services.create_agent(name="dc1", actor=None, meta=meta).agent
    Agent.objects.filter(pk=agent.pk).update(
        enrolled_at=clock.now(),
        last_poll_at=clock.now(),
        last_heartbeat_at=clock.now(),
        probe_state="healthy",
        protocol=1,
        version="0.1.0",
    )
    home = admin_client.get("/console/").content.decode()
    assert "No on-premises agent is set up yet" not in home
    assert 'id="glance-directory" class="health-ok"' in home


def test_sync_through_agents_needs_only_the_base_dn():
    from django.core.exceptions import ValidationError

    settings = DirectorySettings(pk=1, transport="agent", enabled=True)
    with pytest.raises(ValidationError) as refused:
        settings.full_clean()
    assert "base DN" in str(refused.value)
    settings.base_dn = "dc=example,dc=org"
    settings.full_clean()  # no URLs, no service account: the agents hold them


def test_the_two_switches_are_saved_here_and_audited(admin_client):
    from opensspr.policy.models import SsprPolicy

    update_policy(writeback_enabled=False, unlock_without_reset=True)
    response = admin_client.post(PAGE, {"switches": "1", "writeback_enabled": "on"})
    assert response.status_code == 302
    policy = SsprPolicy.objects.get(pk=1)
    assert (policy.writeback_enabled, policy.unlock_without_reset) == (True, False)
    event = AuditEvent.objects.filter(activity="console.object_changed").latest("pk")
    assert sorted(event.details["fields"]) == ["unlock_without_reset", "writeback_enabled"]


def test_in_direct_mode_the_directory_check_runs_here(admin_client):
    DirectorySettings.objects.create(pk=1, base_dn="dc=example,dc=org")  # no server URL yet
    page = admin_client.post(PAGE, {"check_directory": "1"}).content.decode()
    assert "enter the server URLs and the service account" in page
    assert "On-premises integration" in page
