"""The demo organisation is seeded once, through the services, ready for a reset."""

import pyotp
import pytest

from opensspr.accounts.models import User
from opensspr.demo.seed import seed_demo
from opensspr.methods.models import AuthenticatorApp
from opensspr.policy.eligibility import Reason
from opensspr.policy.models import SsprPolicy
from opensspr.policy.reset_selectors import eligibility_for

pytestmark = pytest.mark.django_db


def test_the_demo_is_seeded_once_and_ready_to_reset():
    first = seed_demo()
    second = seed_demo()
    assert first.authenticator_secret == second.authenticator_secret
    assert User.objects.count() == len(first.accounts)
    assert SsprPolicy.objects.get(pk=1).scope == "all"
    jan = User.objects.get(user_id=first.authenticator_user)
    assert AuthenticatorApp.objects.get(user=jan).confirmed_at is not None
    assert pyotp.TOTP(first.authenticator_secret).now().isdigit()
    assert eligibility_for(jan).eligible
    nina = User.objects.get(user_id="nina.new@lakeside.example")
    assert eligibility_for(nina).reason == Reason.NOT_ENOUGH_METHODS
    ada = User.objects.get(user_id="ada.admin@lakeside.example")
    decision = eligibility_for(ada)
    assert decision.eligible and decision.gates_required == 2
