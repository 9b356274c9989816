"""Several rules taken, given back and forgotten at once count exactly as one by one."""

from datetime import timedelta

import pytest

from opensspr.throttles import rules, service
from opensspr.throttles.rules import Scope

pytestmark = pytest.mark.django_db
INBOX = "email:jan@mail.example"
JAN = "jan@contoso.example"


def _send(now_key: str = INBOX) -> list[bool]:
    takes = [
        (rules.DESTINATION_COOLDOWN, now_key),
        (rules.DESTINATION_CODES, now_key),
        (rules.SSPR_EMAIL, JAN),
    ]
    return [verdict.allowed for verdict in service.hit_many(takes)]


def test_a_batch_counts_every_rule_and_stops_at_the_first_refusal(store, clock):
    assert _send() == [True, True, True]
    # Within the minute the cooldown refuses, and nothing after it is counted.
    assert _send() == [False]
    for _ in range(2):
        clock.advance(seconds=61)
        assert _send() == [True, True, True]
    clock.advance(seconds=61)
    assert _send() == [True, False]  # the fourth code to the inbox in 15 minutes
    # The person's own budget counted three sends, not the refused ones: seven remain.
    for n in range(7):
        assert _send(f"email:other{n}@mail.example") == [True, True, True]
    assert _send("email:last@mail.example") == [True, True, False]


def test_reservations_given_back_together_never_add_up(store, clock):
    takes = [
        (rules.SSPR_CONTACT_CHECKS_PER_ADDRESS, "192.0.2.7"),
        (rules.SSPR_CONTACT_CHECKS_PER_FLOW, "41"),
    ]
    for _ in range(10):
        taken = service.reserve_many(takes)
        assert [r.allowed for r in taken] == [True, True]
        service.give_back_many(taken)
    kept = [service.reserve_many(takes) for _ in range(3)]
    assert all(r.allowed for batch in kept for r in batch)
    refused = service.reserve_many(takes)  # the fourth check of flow 41
    assert [r.allowed for r in refused] == [True, False]
    assert refused[-1].blocked_until == clock.now + timedelta(minutes=15)


def test_forget_clears_several_scopes_at_once_and_nothing_else(store, clock):
    for _ in range(6):
        service.hit(rules.SSPR_QUESTIONS, JAN)
    for _ in range(50):  # wrong passwords until the sign-in lockout sets in
        if service.reserve(rules.SIGNIN_LOCKOUT, JAN).penalised:
            break
    assert service.blocked_until(rules.SIGNIN_LOCKOUT, JAN) is not None
    service.hit(rules.REGISTRATION_SMS, JAN)
    service.forget({Scope.SSPR: [JAN, "piet@contoso.example"], Scope.SIGNIN_LOCKOUT: [JAN]})
    assert service.blocked_until(rules.SSPR_QUESTIONS, JAN) is None
    assert all(service.hit(rules.SSPR_QUESTIONS, JAN).allowed for _ in range(5))
    assert service.blocked_until(rules.SIGNIN_LOCKOUT, JAN) is None
    # Another scope keeps its count: four more registration texts, then refused.
    assert [service.hit(rules.REGISTRATION_SMS, JAN).allowed for _ in range(5)][-1] is False
