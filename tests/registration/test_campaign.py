"""The registration campaign (issue 11): the worker reminds people who can't reset yet, by
email, at most so many times, so many days apart, and stops once they have registered."""

import re
from datetime import timedelta

import pytest
from django.test import Client

from opensspr.audit.models import AuditEvent
from opensspr.channels import deliver_due
from opensspr.registration import campaign
from opensspr.registration.models import RegistrationCampaign, RegistrationState
from tests.conftest import delivered, open_reset_policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(user_factory):
    open_reset_policy(scope="all", methods_required=1)
    return {
        "newcomer": user_factory("new@contoso.example", email="new@contoso.example"),
        "ready": user_factory(
            "ready@contoso.example", email="ready@contoso.example", auth_email="r@mail.example"
        ),
        "no_mailbox": user_factory("nomail@contoso.example"),
        "disabled": user_factory(
            "gone@contoso.example", email="gone@contoso.example", account_enabled=False
        ),
    }


def _turn_on(**settings):
    RegistrationCampaign.objects.update_or_create(
        pk=1, defaults={"enabled": True, "interval_days": 7, "max_reminders": 3, **settings}
    )


def _reminders(address="new@contoso.example"):
    deliver_due()
    return list(delivered(recipient=address).filter(purpose="registration.reminder"))


def test_off_by_default_nobody_is_written_to(people, clock):
    assert campaign.get_campaign().enabled is False
    assert campaign.remind_step() == 0
    assert not delivered().filter(purpose="registration.reminder").exists()


def test_only_people_who_cant_reset_yet_are_reminded_with_a_link_to_register(people, clock):
    _turn_on()
    assert campaign.remind_step() == 1
    (message,) = _reminders()
    body = message.plaintext_body()
    assert "Set up password reset for your" in message.subject
    assert "new@contoso.example" in body
    assert re.search(r"https?://[^\s]+/security-info", body)
    assert "up to 2 more times" in body
    # Able to reset already, no mailbox, or disabled: nothing for them.
    assert (
        not delivered()
        .filter(purpose="registration.reminder")
        .exclude(recipient="new@contoso.example")
        .exists()
    )
    event = AuditEvent.objects.get(activity="registration.reminded")
    assert event.target == people["newcomer"] and event.actor is None
    assert event.details == {"reminder": 1, "of": 3}
    assert "new@contoso.example" not in str(event.details)


def test_reminders_come_interval_days_apart_and_stop_at_the_limit(people, clock):
    _turn_on(interval_days=7, max_reminders=2)
    assert campaign.remind_step() == 1
    clock.advance(days=3)
    assert campaign.remind_step() == 0  # the next pass: not due for four more days
    clock.advance(days=4)
    assert campaign.remind_step() == 1
    assert "remind you" not in _reminders()[0].plaintext_body()  # the last one says no more
    clock.advance(days=30)
    assert campaign.remind_step() == 0
    state = RegistrationState.objects.get(user=people["newcomer"])
    assert (state.reminders_sent, state.reminded_at) == (2, clock.now - timedelta(days=30))


def test_it_stops_once_the_person_has_registered(people, clock):
    _turn_on(interval_days=1)
    assert campaign.remind_step() == 1
    newcomer = people["newcomer"]
    newcomer.auth_email = "new@mail.example"  # as registering an email leaves it
    newcomer.save(update_fields=["auth_email"])
    clock.advance(days=2)
    assert campaign.remind_step() == 0


def test_people_out_of_scope_are_never_reminded(people, clock):
    open_reset_policy(scope="none")
    _turn_on()
    assert campaign.remind_step() == 0


def test_the_walk_goes_in_steps_and_a_new_pass_waits_an_hour(
    people, user_factory, clock, monkeypatch
):
    monkeypatch.setattr(campaign, "STEP", 2)
    later = user_factory("later@contoso.example", email="later@contoso.example")
    _turn_on()
    counts = [campaign.remind_step() for _ in range(4)]
    # Four enabled users, two a turn: the newcomer in the first step, the later one in the
    # second; an empty third step ends the pass, and the next pass waits an hour.
    assert sum(counts) == 2 and counts[3] == 0
    assert RegistrationCampaign.objects.get().cursor == 0
    assert len(_reminders(later.email)) == 1
    clock.advance(days=8)
    assert sum(campaign.remind_step() for _ in range(4)) == 2


def test_the_console_sets_it_up_and_audits_the_change(people, user_factory):
    client = Client()
    client.force_login(user_factory(roles=("authentication_admin",)))
    listing = client.get("/console/registration/registrationcampaign/")
    assert listing.status_code == 302 and listing["Location"].endswith("/add/")
    form = {"enabled": "on", "interval_days": "5", "max_reminders": "4"}
    response = client.post("/console/registration/registrationcampaign/add/", form)
    assert response.status_code == 302
    row = RegistrationCampaign.objects.get()
    assert (row.pk, row.enabled, row.interval_days, row.max_reminders) == (1, True, 5, 4)
    assert client.get("/console/registration/registrationcampaign/")["Location"].endswith(
        "/1/change/"
    )
    too_often = client.post(
        "/console/registration/registrationcampaign/1/change/",
        {"enabled": "on", "interval_days": "0", "max_reminders": "4"},
    )
    assert too_often.status_code == 200 and RegistrationCampaign.objects.get().interval_days == 5
    helpdesk = Client()
    helpdesk.force_login(user_factory(roles=("helpdesk_admin",)))
    assert helpdesk.get("/console/registration/registrationcampaign/1/change/").status_code == 403
