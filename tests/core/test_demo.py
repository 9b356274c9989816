"""The demo organisation is seeded once, through the services, ready for a reset."""

import pyotp
import pytest

from opensspr.accounts.models import User
from opensspr.demo.seed import DEMO_ANSWERS, seed_demo
from opensspr.methods.models import AuthenticatorApp, SecurityAnswer
from opensspr.methods.questions import answer_matches, question_text
from opensspr.policy.eligibility import Reason
from opensspr.policy.kinds import MethodKind as K
from opensspr.policy.models import SsprPolicy
from opensspr.policy.reset_selectors import eligibility_for
from tests.conftest import update_policy

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


def test_the_printed_answers_pass_jans_questions_once_the_policy_allows_them():
    seed = seed_demo()
    jan = User.objects.get(user_id=seed.authenticator_user)
    assert K.SECURITY_QUESTIONS not in {m.kind for m in eligibility_for(jan).methods}
    update_policy(methods_required=2, allow_security_questions=True)
    assert K.SECURITY_QUESTIONS in {m.kind for m in eligibility_for(jan).methods}
    by_text = {question_text(key): key for key in DEMO_ANSWERS}
    stored = dict(
        SecurityAnswer.objects.filter(user=jan).values_list("question_key", "answer_hash")
    )
    for question, answer in seed.answers.items():
        assert answer_matches(answer, stored[by_text[question]])
