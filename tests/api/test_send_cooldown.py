"""Issue 12 item 7 (attack A5): one inbox or phone gets at most 3 codes, one a minute.

Counted per destination, whatever user ID or flow asks: a fresh flow (and
captcha) per request is what a flooder would use.
"""

from opensspr.channels import deliver_due, list_outbox
from tests.api.conftest import MOBILE

EMAIL = {"method": "email", "contact": "jan@mail.example"}


def _ask(api, reset_flow, user_id, body=EMAIL):
    flow = reset_flow(user_id)
    return api.post("/resets/current/verification", body, handle=flow.handle)


def _sent_to(recipient):
    deliver_due()
    return list_outbox(recipient=recipient).count()


def test_a_burst_sends_one_code_and_then_holds_honestly(api, jan, reset_flow, clock):
    answers = [_ask(api, reset_flow, jan.user_id) for _ in range(6)]
    assert [a.status for a in answers] == [200, 429, 429, 429, 429, 429]
    assert _sent_to("jan@mail.example") == 1
    held = answers[1].body
    assert held["code"] == "send_held"
    assert "just sent" in held["title"] and "jan" not in held["title"]


def test_at_most_three_codes_per_destination_in_fifteen_minutes(api, jan, reset_flow, clock):
    statuses = []
    for _ in range(4):
        statuses.append(_ask(api, reset_flow, jan.user_id).status)
        clock.advance(seconds=61)
    assert statuses == [200, 200, 200, 429]
    assert _sent_to("jan@mail.example") == 3
    clock.advance(minutes=15)
    assert _ask(api, reset_flow, jan.user_id).status == 200


def test_texts_and_calls_to_one_number_share_the_hold(api, jan, reset_flow, clock):
    text = {"method": "mobile_sms", "contact": MOBILE}
    call = {"method": "mobile_voice", "contact": MOBILE}
    assert _ask(api, reset_flow, jan.user_id, text).status == 200
    assert _ask(api, reset_flow, jan.user_id, call).status == 429
    assert _sent_to(MOBILE) == 1


def test_the_hold_is_per_destination_not_per_person(api, jan, user_factory, reset_flow, clock):
    """Two user IDs sharing one inbox share its hold; the answer doesn't depend on the ID."""
    user_factory("piet@contoso.example", auth_email="jan@mail.example")
    first = _ask(api, reset_flow, jan.user_id)
    second = _ask(api, reset_flow, "piet@contoso.example")
    third = _ask(api, reset_flow, jan.user_id)
    assert (first.status, second.status, third.status) == (200, 429, 429)
    assert second.body["title"] == third.body["title"]
