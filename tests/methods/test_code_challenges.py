"""The one code-challenge primitive: tries reserved first, consumed once, a call confirmed once."""

from datetime import timedelta

import pytest

from opensspr.methods import challenges
from opensspr.methods.base import MAX_TRIES_PER_CODE
from opensspr.policy.kinds import MethodKind as K
from opensspr.resets.flow import begin_verification, start_flow
from opensspr.resets.models import Challenge
from tests.conftest import delivered, open_reset_policy

pytestmark = pytest.mark.django_db
MOBILE = "+31612345678"


def _challenge(user_factory, meta, kind=K.EMAIL, contact="jan@mail.example"):
    open_reset_policy(unlock_without_reset=False)
    person = user_factory(auth_email="jan@mail.example", mobile_phone=MOBILE)
    started = start_flow(identifier=person.user_id, meta=meta)
    begin_verification(handle=started.handle, kind=kind, contact=contact, meta=meta)
    return Challenge.objects.get()


def test_tries_are_reserved_up_to_the_limit_whatever_a_stale_copy_says(user_factory, meta):
    challenge = _challenge(user_factory, meta)
    stale = Challenge.objects.get()
    assert all(challenges.reserve_try(challenge) for _ in range(MAX_TRIES_PER_CODE))
    assert not challenges.reserve_try(stale)
    assert Challenge.objects.get().tries == MAX_TRIES_PER_CODE


def test_a_challenge_is_consumed_once(user_factory, meta, clock):
    challenge = _challenge(user_factory, meta)
    assert challenges.consume_once(challenge, clock.now)
    assert not challenges.consume_once(challenge, clock.now)


def _token():
    return delivered(kind="voice").first().plaintext_voice_token()


def test_a_call_is_confirmed_once_and_only_with_the_pound_key(user_factory, meta, clock):
    _challenge(user_factory, meta, kind=K.MOBILE_VOICE, contact=MOBILE)
    token = _token()
    assert challenges.confirm_call(Challenge, token=token, digits="1", now=clock.now) is None
    confirmed = challenges.confirm_call(Challenge, token=token, digits="#", now=clock.now)
    assert confirmed is not None and confirmed.answered_at == clock.now
    assert challenges.confirm_call(Challenge, token=token, digits="#", now=clock.now) is None


def test_an_expired_call_confirms_nothing(user_factory, meta, clock):
    _challenge(user_factory, meta, kind=K.MOBILE_VOICE, contact=MOBILE)
    token = _token()
    later = clock.now + challenges.CODE_TTL + timedelta(seconds=1)
    assert challenges.confirm_call(Challenge, token=token, digits="#", now=later) is None


def test_only_texts_and_calls_draw_on_the_phone_budget(meta, clock):
    assert challenges.phone_budget_refusal(K.EMAIL, meta, clock.now) is None
    assert K.MOBILE_SMS in challenges.PHONE_KINDS and K.EMAIL not in challenges.PHONE_KINDS
