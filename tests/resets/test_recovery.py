"""Recovery when every method is lost, end to end: the portal's request, the helpdesk's
queue, the identity check, the pass, signing in with it and registering a method."""

import re

import pytest
from django.test import Client

from opensspr.audit.models import AuditEvent
from opensspr.resets.helpdesk import process_help_requests
from opensspr.resets.models import HelpRequest, RecoveryRequest, RecoveryState
from opensspr.throttles import rules
from tests.conftest import DEFAULT_PASSWORD, delivered, open_reset_policy
from tests.portal.conftest import Portal
from tests.registration.conftest import code_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _policy():
    open_reset_policy()


@pytest.fixture
def lost(user_factory):
    """Noor lost her phone, and with it the only method she had."""
    return user_factory("noor@contoso.example", display_name="Noor")


@pytest.fixture
def helpdesk(user_factory):
    admin = user_factory("helen@contoso.example", roles=("helpdesk_admin",))
    client = Client()
    client.post("/signin", {"user_id": admin.user_id, "password": DEFAULT_PASSWORD})
    return admin, client


def _ask(user_id: str) -> str:
    portal = Portal(Client())
    page = portal.to_verify(user_id).content.decode()
    assert 'id="none-of-these"' in page
    assert portal.client.get("/reset/recovery").status_code == 200
    sent = portal.client.post("/reset/recovery", {"flow_seq": "1"}).content.decode()
    return re.search(r'id="recovery-reference">(R-[A-Z0-9]{6})<', sent).group(1)


def test_the_whole_path_from_portal_to_a_registered_method(lost, helpdesk):
    admin, console = helpdesk
    reference = _ask(lost.user_id)

    queue = console.get("/console/resets/recoveryrequest/").content.decode()
    assert reference in queue and lost.user_id in queue
    found = RecoveryRequest.objects.get(reference=reference)
    url = f"/console/resets/recoveryrequest/{found.pk}/change/"
    page = console.get(url).content.decode()
    assert 'id="issue-pass"' not in page  # no pass before the identity is confirmed

    console.post(url, {"step": "take"})
    incomplete = console.post(url, {"step": "confirm", "confirm-note": "called"})
    assert incomplete.status_code == 200  # no check ticked: shown again with the error
    console.post(
        url,
        {
            "step": "confirm",
            "confirm-checks": ["callback", "reference"],
            "confirm-note": "Called back on the HR number; she quoted the reference.",
        },
    )
    issued = console.post(
        url, {"step": "pass", "pass-lifetime_minutes": "60", "pass-one_time": "on"}
    )
    assert "no-store" in issued["Cache-Control"]
    passcode = issued.context["issued"].passcode
    found.refresh_from_db()
    assert found.state == RecoveryState.DONE and found.outcome == "pass_issued"
    assert found.checklist == ["callback", "reference"] and found.taken_by == admin

    person = Client()
    response = person.post("/signin/access-pass", {"user_id": lost.user_id, "passcode": passcode})
    assert response["Location"] == "/security-info"
    assert person.post("/security-info/email", {"address": "noor@mail.example"}).status_code == 302
    person.post("/security-info/confirm", {"code": code_for("noor@mail.example")})
    lost.refresh_from_db()
    assert lost.auth_email == "noor@mail.example"

    trail = list(
        AuditEvent.objects.filter(target=lost).order_by("id").values_list("activity", flat=True)
    )
    expected = [
        "recovery.requested",
        "recovery.taken",
        "recovery.identity_confirmed",
        "access_pass.issued",
        "recovery.closed",
        "access_pass.used",
    ]
    assert [a for a in trail if a in expected] == expected
    confirmed = AuditEvent.objects.get(activity="recovery.identity_confirmed")
    assert "HR number" not in str(confirmed.details)  # the note stays on the request


def test_an_unknown_id_gets_the_same_answer_and_no_queue_entry(lost, helpdesk):
    _admin, console = helpdesk
    reference = _ask("ghost@contoso.example")
    assert re.fullmatch(r"R-[A-Z0-9]{6}", reference)
    assert reference not in console.get("/console/resets/recoveryrequest/").content.decode()
    event = AuditEvent.objects.get(activity="recovery.requested")
    assert event.outcome == "failure" and event.reason


def test_asking_again_keeps_one_request_with_a_new_reference(lost):
    first, second = _ask(lost.user_id), _ask(lost.user_id)
    assert first != second
    assert RecoveryRequest.objects.filter(user=lost).get().reference == second


def test_requests_are_throttled_per_user_id_alike_for_every_id(lost):
    limit = rules.SSPR_RECOVERY.max_uses()
    for user_id in (lost.user_id, "ghost@contoso.example"):
        for _ in range(limit + 1):
            _ask(user_id)
    refused = AuditEvent.objects.filter(activity="recovery.requested", reason="throttled")
    assert refused.count() == 2
    assert RecoveryRequest.objects.filter(user=lost).count() == 1


def test_requests_are_throttled_per_address():
    limit = rules.SSPR_RECOVERY_PER_ADDRESS.max_uses()
    for n in range(limit + 1):
        _ask(f"ghost{n}@contoso.example")
    assert AuditEvent.objects.filter(reason="throttled").count() == 1


def test_a_higher_role_request_is_not_the_helpdesks(user_factory, helpdesk):
    _admin, console = helpdesk
    boss = user_factory("boss@contoso.example", roles=("global_admin",))
    _ask(boss.user_id)
    found = RecoveryRequest.objects.get(user=boss)
    url = f"/console/resets/recoveryrequest/{found.pk}/change/"
    assert console.post(url, {"step": "take"}).status_code == 403
    found.refresh_from_db()
    assert found.state == RecoveryState.OPEN


def test_closing_without_a_pass(lost, helpdesk):
    _admin, console = helpdesk
    _ask(lost.user_id)
    found = RecoveryRequest.objects.get(user=lost)
    url = f"/console/resets/recoveryrequest/{found.pk}/change/"
    console.post(url, {"step": "not_confirmed"})
    found.refresh_from_db()
    assert found.state == RecoveryState.DONE and found.outcome == "not_confirmed"
    assert found.reference not in console.get("/console/resets/recoveryrequest/").content.decode()
    done = console.get("/console/resets/recoveryrequest/?state=done").content.decode()
    assert found.reference in done


def test_the_helpdesk_is_emailed_for_a_known_id_only(lost, user_factory):
    user_factory("hanna@contoso.example", email="hanna@contoso.example", roles=("helpdesk_admin",))
    _ask(lost.user_id)
    _ask("ghost@contoso.example")
    assert HelpRequest.objects.filter(recovery=True).count() == 2  # written for every ID
    process_help_requests()
    mails = delivered(recipient="hanna@contoso.example")
    assert mails.count() == 1
    mail = mails.get()
    assert mail.purpose == "reset.recovery_requested"
    assert "noor@contoso.example" in mail.subject and "Recovery requests" in mail.plaintext_body()


def test_no_email_when_the_organisation_has_its_own_helpdesk_link(lost, user_factory):
    open_reset_policy(helpdesk_contact="https://help.contoso.example")
    _ask(lost.user_id)
    assert not HelpRequest.objects.exists()
    assert RecoveryRequest.objects.filter(user=lost).exists()  # the queue still has it
