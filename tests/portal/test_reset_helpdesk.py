"""The default "contact your administrator" request (reference §9.3) and the link (§2.6)."""

import pytest
from prometheus_client import REGISTRY

from opensspr.audit.models import AuditEvent
from opensspr.channels.models import Message
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.resets.flow import FlowError, start_flow
from opensspr.resets.helpdesk import (
    MAX_RECIPIENTS,
    HelpdeskKind,
    helpdesk_link_for,
    list_help_recipients,
    process_help_requests,
    request_admin_help,
)
from opensspr.resets.models import HeldHelp, HelpRequest, ResetFlow
from opensspr.throttles.rules import HELP_EMAILS_PER_RECIPIENT, SSPR_HELP_PER_ADDRESS
from tests.conftest import update_policy
from tests.portal.conftest import delivered
from tests.resets import throttling as throttles

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(user_factory):
    def make(name, role, **fields):
        fields.setdefault("email", f"{name}@contoso.example")
        return user_factory(f"{name}@contoso.example", password=None, roles=(role,), **fields)

    return make


def _ask(identifier, meta):
    handle = start_flow(identifier=identifier, meta=meta).handle
    request_admin_help(handle=handle, meta=meta)
    return handle


def _help_sent():
    return delivered().filter(purpose="reset.admin_help")


def test_password_and_helpdesk_administrators_come_first(admin):
    admin("gina", "global_admin")
    admin("ulla", "user_admin")
    admin("pete", "password_admin")
    admin("hugo", "helpdesk_admin")
    assert [u.user_id for u in list_help_recipients()] == [
        "hugo@contoso.example",
        "pete@contoso.example",
    ]


def test_then_user_administrators_then_global_administrators(admin):
    gina = admin("gina", "global_admin")
    assert list_help_recipients() == [gina]
    ulla = admin("ulla", "user_admin")
    assert list_help_recipients() == [ulla]


def test_the_requester_disabled_admins_and_admins_without_email_are_left_out(admin):
    hugo = admin("hugo", "helpdesk_admin")
    admin("nomail", "helpdesk_admin", email="")
    admin("gone", "helpdesk_admin", account_enabled=False)
    gina = admin("gina", "global_admin")
    assert list_help_recipients() == [hugo]
    assert list_help_recipients(requester=hugo) == [gina]


def test_at_most_a_hundred_administrators_receive_it(admin):
    for n in range(MAX_RECIPIENTS + 1):
        admin(f"help{n:03d}", "helpdesk_admin")
    recipients = list_help_recipients()
    assert len(recipients) == MAX_RECIPIENTS
    assert recipients[0].user_id == "help000@contoso.example"


def test_a_known_user_gets_one_message_per_administrator(user_factory, admin, meta, clock):
    user_factory("jan@contoso.example", display_name="Jan Jansen", auth_email="j@mail.example")
    admin("hugo", "helpdesk_admin")
    admin("pete", "password_admin")
    handle = _ask("jan@contoso.example", meta)
    request_admin_help(handle=handle, meta=meta)  # a second click sends nothing new
    sent = _help_sent()
    assert sorted(m.recipient for m in sent) == ["hugo@contoso.example", "pete@contoso.example"]
    message = sent[0]
    assert message.subject == "jan@contoso.example asked for help resetting their password"
    body = message.plaintext_body()
    assert "Jan Jansen (jan@contoso.example) asked for help resetting" in body
    assert "2026-11-23 09:00 UTC" in body
    assert AuditEvent.objects.filter(activity="reset.admin_help_requested").count() == 1
    sent_events = AuditEvent.objects.filter(activity="reset.admin_help_sent")
    assert [e.details for e in sent_events] == [{"recipients": 2}]


def test_the_request_only_records_the_ask_and_the_loop_fans_it_out(user_factory, admin, meta):
    """Nothing addressed to an administrator is written while the person waits (A1)."""
    user_factory("jan@contoso.example", auth_email="j@mail.example")
    admin("hugo", "helpdesk_admin")
    _ask("jan@contoso.example", meta)
    assert not Message.objects.filter(purpose="reset.admin_help").exists()
    assert HelpRequest.objects.filter(processed_at__isnull=True).count() == 1
    assert process_help_requests() == 1
    assert process_help_requests() == 0  # claimed once, never fanned out twice
    assert Message.objects.filter(purpose="reset.admin_help").count() == 1


def test_a_known_user_who_cannot_reset_is_helped_all_the_same(user_factory, admin, meta):
    user_factory("nomethods@contoso.example")
    admin("hugo", "helpdesk_admin")
    _ask("nomethods@contoso.example", meta)
    assert ResetFlow.objects.get().decoy
    assert _help_sent().count() == 1


@pytest.mark.parametrize("identifier", ["ghost@contoso.example", "off@contoso.example"])
def test_unknown_or_disabled_accounts_send_nothing(user_factory, admin, meta, identifier):
    user_factory("off@contoso.example", account_enabled=False)
    admin("hugo", "helpdesk_admin")
    _ask(identifier, meta)
    assert not _help_sent().exists()
    event = AuditEvent.objects.get(activity="reset.admin_help_requested")
    assert event.outcome == "failure"


def test_help_requests_are_budgeted_per_address_and_never_block_the_person(
    user_factory, admin, meta
):
    """A21: "contact your administrator" clicks used to count against the person and, past
    ten, block their reset for a day. Now one ask per flow, and ten an hour per address."""
    user_factory("jan@contoso.example", auth_email="j@mail.example")
    admin("hugo", "helpdesk_admin")
    for _ in range(SSPR_HELP_PER_ADDRESS.limit + 2):
        _ask("jan@contoso.example", meta)
    assert _help_sent().count() == SSPR_HELP_PER_ADDRESS.limit
    jan_flow = ResetFlow.objects.filter(decoy=False).first()
    assert throttles.blocked_until(jan_flow.subject, clock.now()) is None
    assert start_flow(identifier="jan@contoso.example", meta=meta).state != "blocked"
    elsewhere = RequestMeta("198.51.100.7", "pytest", "other-address")
    _ask("jan@contoso.example", elsewhere)  # another address may ask (Hugo's own cap holds it)
    assert HelpRequest.objects.count() == SSPR_HELP_PER_ADDRESS.limit + 1


def test_a_custom_helpdesk_means_no_email(user_factory, admin, meta):
    update_policy(helpdesk_contact="https://help.contoso.example")
    user_factory("jan@contoso.example", auth_email="j@mail.example")
    admin("hugo", "helpdesk_admin")
    _ask("jan@contoso.example", meta)
    assert not _help_sent().exists()


def test_a_flow_that_is_gone_is_refused_like_any_step(meta):
    with pytest.raises(FlowError, match="flow_not_found"):
        request_admin_help(handle="made-up", meta=meta)


@pytest.mark.parametrize(
    ("contact", "kind", "target"),
    [
        ("", HelpdeskKind.REQUEST, ""),
        ("  ", HelpdeskKind.REQUEST, ""),
        (
            "https://help.contoso.example/reset?x=1",
            HelpdeskKind.URL,
            "https://help.contoso.example/reset?x=1",
        ),
        ("http://intranet.contoso.example", HelpdeskKind.URL, "http://intranet.contoso.example"),
        ("helpdesk@contoso.example", HelpdeskKind.EMAIL, "helpdesk@contoso.example"),
        ("javascript:alert(1)", HelpdeskKind.REQUEST, ""),
        ("ftp://files.contoso.example", HelpdeskKind.REQUEST, ""),
        ("https://", HelpdeskKind.REQUEST, ""),
        ("call 555-0100", HelpdeskKind.REQUEST, ""),
    ],
)
def test_the_helpdesk_contact_becomes_a_safe_link(contact, kind, target):
    link = helpdesk_link_for(contact)
    assert (link.kind, link.target) == (kind, target)


def test_asking_again_in_one_flow_spends_nothing_more(user_factory, admin, meta):
    user_factory("jan@contoso.example", auth_email="j@mail.example")
    admin("hugo", "helpdesk_admin")
    handle = _ask("jan@contoso.example", meta)
    for _click in range(12):  # more than the ID's 10 emails in 10 minutes
        request_admin_help(handle=handle, meta=meta)
    assert HelpRequest.objects.count() == 1
    flow = ResetFlow.objects.get()
    assert throttles.blocked_until(flow.subject, clock.now()) is None


def test_one_administrator_gets_at_most_ten_an_hour_then_one_digest(
    user_factory, admin, meta, clock
):
    """Issue 12 item 5: 600 requests in 15 minutes gave one administrator 400 emails."""
    people = [
        user_factory(f"p{n}@contoso.example", auth_email=f"p{n}@mail.example") for n in range(15)
    ]
    admin("hugo", "helpdesk_admin")
    for n, person in enumerate(people):
        _ask(person.user_id, RequestMeta(f"198.51.100.{n + 1}", "pytest", f"ask-{n}"))
    assert _help_sent().count() == HELP_EMAILS_PER_RECIPIENT.limit
    held = HeldHelp.objects.get()
    assert held.count == 5 and held.user_ids == [p.user_id for p in people[10:]]
    assert not delivered().filter(purpose="reset.admin_help_digest").exists()
    clock.advance(minutes=61)
    process_help_requests()
    digest = delivered().filter(purpose="reset.admin_help_digest").get()
    body = digest.plaintext_body()
    assert "5 more requests" in body and people[14].user_id in body
    assert not HeldHelp.objects.exists()


def _deliveries_sent() -> float:
    """What /metrics says about sent deliveries, summed over every label."""
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "opensspr_deliveries"
        for sample in metric.samples
        if sample.name == "opensspr_deliveries_total" and sample.labels["outcome"] == "sent"
    )


def test_the_delivery_metric_does_not_tell_a_known_id_from_a_made_up_one(user_factory, admin, meta):
    """Issue 12 item 1: the help request's fan-out must not move a public counter (A1)."""
    user_factory("jan@contoso.example", auth_email="j@mail.example")
    admin("hugo", "helpdesk_admin")
    moved = {}
    for identifier in ("jan@contoso.example", "ghost@contoso.example"):
        before = _deliveries_sent()
        _ask(identifier, meta)
        delivered()
        moved[identifier] = _deliveries_sent() - before
    assert _help_sent().count() == 1  # the administrator was still told about Jan
    assert moved["jan@contoso.example"] == moved["ghost@contoso.example"]
