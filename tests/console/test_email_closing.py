"""The organisation's closing words (issue 11, Customization): under every email people get,
edited on the organisation page with a preview of an email as sent."""

import pytest
from django.test import Client

from opensspr.accounts.models import Organisation
from opensspr.audit.models import AuditEvent
from opensspr.channels import MessageKind, OutgoingMessage, enqueue_message
from tests.conftest import delivered

pytestmark = pytest.mark.django_db
CLOSING = "Questions? Call the Lakeside service desk on 020 555 0100.\nWe never ask for a code."


def _set_closing(text):
    Organisation.objects.update_or_create(
        pk=1, defaults={"name": "Lakeside", "email_closing": text}
    )


def test_every_email_ends_with_the_closing_words_and_texts_never_do(meta):
    _set_closing(CLOSING)
    enqueue_message(
        OutgoingMessage(
            kind=MessageKind.EMAIL,
            to="a@mail.example",
            purpose="reset.code",
            subject="Code",
            body="Your code is 123456",
        ),
        meta=meta,
    )
    enqueue_message(
        OutgoingMessage(
            kind=MessageKind.SMS, to="+31612345678", purpose="reset.code", body="123456 is it"
        ),
        meta=meta,
    )
    email = delivered(recipient="a@mail.example").get()
    assert email.plaintext_body() == f"Your code is 123456\n\n-- \n{CLOSING}"
    text = delivered(recipient="+31612345678").get()
    assert text.plaintext_body() == "123456 is it"  # a text has no room for it


def test_without_closing_words_an_email_is_sent_as_written(meta):
    _set_closing("   ")
    enqueue_message(
        OutgoingMessage(
            kind=MessageKind.EMAIL,
            to="b@mail.example",
            purpose="reset.code",
            subject="Code",
            body="Your code is 654321",
        ),
        meta=meta,
    )
    assert delivered(recipient="b@mail.example").get().plaintext_body() == "Your code is 654321"


def test_the_organisation_page_edits_them_with_a_preview_and_audits_the_change(user_factory):
    _set_closing("")
    client = Client()
    client.force_login(user_factory(roles=("global_admin",)))
    page = client.get("/console/accounts/organisation/1/change/").content.decode()
    assert "closing words of every email" in page.lower()
    assert 'id="email-preview-body"' in page and "Your Lakeside password was reset" in page
    assert "opensspr/email-preview.js" in page
    response = client.post(
        "/console/accounts/organisation/1/change/",
        {"name": "Lakeside", "email_closing": CLOSING, "_continue": "1"},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "-- \nQuestions? Call the Lakeside service desk" in page  # the preview, as saved
    assert Organisation.objects.get().email_closing == CLOSING
    event = AuditEvent.objects.filter(activity__startswith="console.").latest("pk")
    assert "email_closing" in str(event.details)
    too_long = client.post(
        "/console/accounts/organisation/1/change/", {"name": "Lakeside", "email_closing": "x" * 601}
    )
    assert too_long.status_code == 200 and Organisation.objects.get().email_closing == CLOSING
