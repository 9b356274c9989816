"""Familiar devices (signin.devices): the person's own browser counts with their familiar
networks, so a stranger's guesses from elsewhere don't hold them back on the road (A21)."""

from dataclasses import replace

import pytest
from django.core import signing

from opensspr.core.request_meta import RequestMeta, request_meta
from opensspr.signin import devices
from opensspr.signin.services import SignInOutcome, sign_in
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db
DEVICE_COOKIE = "opensspr-device"  # "__Host-opensspr-device" under https

ATTACKER = RequestMeta("203.0.113.66", "curl", "attacker")
ON_THE_ROAD = RequestMeta("192.0.2.77", "browser", "hotel")  # a network never seen before


def _guess(user_id, meta, n):
    return [
        sign_in(identifier=user_id, password=f"Guess-{i}", meta=meta).outcome for i in range(n)
    ][-1]


def _signed_in_cookie(client, user) -> str:
    response = client.post("/signin", {"user_id": user.user_id, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return response.cookies[DEVICE_COOKIE].value


def test_a_sign_in_marks_the_browser_and_a_failed_one_does_not(client, user_factory):
    person = user_factory()
    failed = client.post("/signin", {"user_id": person.user_id, "password": "nope"})
    assert DEVICE_COOKIE not in failed.cookies
    response = client.post("/signin", {"user_id": person.user_id, "password": DEFAULT_PASSWORD})
    cookie = response.cookies[DEVICE_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 90 * 24 * 3600
    assert person.user_id not in cookie.value  # only a keyed digest of the ID
    assert devices.is_familiar(person.user_id_key, cookie.value)
    assert not devices.is_familiar(user_factory().user_id_key, cookie.value)


def test_the_person_signs_in_on_their_own_device_while_a_stranger_locked_the_id(
    client, user_factory, clock
):
    victim = user_factory()
    cookie = _signed_in_cookie(client, victim)
    assert _guess(victim.user_id, ATTACKER, 10) == SignInOutcome.LOCKED
    # From a new network without the cookie: locked like the stranger.
    bare = sign_in(identifier=victim.user_id, password=DEFAULT_PASSWORD, meta=ON_THE_ROAD)
    assert bare.outcome == SignInOutcome.LOCKED
    # The same new network, on the person's own browser: through.
    own = replace(ON_THE_ROAD, device=cookie)
    assert sign_in(identifier=victim.user_id, password=DEFAULT_PASSWORD, meta=own).outcome == (
        SignInOutcome.SUCCESS
    )


def test_a_strangers_own_cookie_or_a_forged_one_is_no_familiar_device(client, user_factory, clock):
    victim = user_factory()
    stranger = user_factory()
    theirs = _signed_in_cookie(client, stranger)
    forged = signing.dumps(
        {"at": int(clock.now.timestamp()), "ids": ["0" * 32]}, key="not-the-server-key"
    )
    for token in (theirs, forged, "garbage", theirs[:-2] + "xx"):
        assert not devices.is_familiar(victim.user_id_key, token)


def test_a_device_is_forgotten_after_ninety_days_without_a_sign_in(client, user_factory, clock):
    person = user_factory()
    cookie = _signed_in_cookie(client, person)
    clock.advance(days=89)
    assert devices.is_familiar(person.user_id_key, cookie)
    clock.advance(days=2)
    assert not devices.is_familiar(person.user_id_key, cookie)


def test_one_browser_remembers_the_last_five_ids(user_factory):
    people = [user_factory() for _ in range(6)]
    token = ""
    for person in people:
        token = devices.remember(token, person.user_id_key)
    assert not devices.is_familiar(people[0].user_id_key, token)
    assert all(devices.is_familiar(p.user_id_key, token) for p in people[1:])


def test_every_request_meta_carries_the_cookie_as_sent(rf):
    request = rf.get("/reset")
    request.COOKIES[DEVICE_COOKIE] = "token-as-sent"
    assert request_meta(request).device == "token-as-sent"
    request.COOKIES[DEVICE_COOKIE] = "x" * 5000  # no digest work on a giant value
    assert request_meta(request).device == ""
    assert request_meta(rf.get("/reset")).device == ""
