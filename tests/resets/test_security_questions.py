"""Security questions at the reset gates: fenced in as the security bar demands (A3)."""

import re

import pytest

from opensspr.methods.models import SecurityAnswer
from opensspr.methods.questions import predefined_key, replace_answers
from opensspr.policy.kinds import MethodKind as K
from opensspr.policy.reset_selectors import eligibility_for
from opensspr.resets.flow import (
    FlowBlockedError,
    FlowError,
    begin_verification,
    change_method,
    choose_operation,
    start_flow,
    submit_verification,
)
from opensspr.resets.models import FlowState, Operation
from opensspr.throttles.rules import SSPR_QUESTIONS
from tests.conftest import delivered, open_reset_policy, past_the_send_cooldown
from tests.resets import throttling as throttles

pytestmark = pytest.mark.django_db
ANSWERS = {
    predefined_key(2): "Canary-Utrecht",
    predefined_key(4): "Canary-Zwolle",
    predefined_key(12): "Canary-Stamppot",
    predefined_key(29): "Canary-Bello",
    predefined_key(30): "Canary-Jantje",
}


@pytest.fixture(autouse=True)
def _policy():
    open_reset_policy(
        methods_required=2,
        allow_security_questions=True,
        questions_to_register=5,
        questions_to_reset=3,
    )


@pytest.fixture
def jan(user_factory):
    user = user_factory("jan@contoso.example", auth_email="jan@mail.example")
    replace_answers(user, ANSWERS)
    return user


def _code(recipient):
    body = delivered(recipient=recipient).first().plaintext_body()
    return re.search(r"\b(\d{6,8})\b", body).group(1)


def _at_questions(user_id, meta):
    view = start_flow(identifier=user_id, meta=meta)
    view = choose_operation(handle=view.handle, operation=Operation.RESET, meta=meta)
    assert K.SECURITY_QUESTIONS not in {o.kind for o in view.options}  # never gate 1
    view = begin_verification(
        handle=view.handle, kind=K.EMAIL, contact="jan@mail.example", meta=meta
    )
    view = submit_verification(handle=view.handle, answer=_code("jan@mail.example"), meta=meta)
    assert view.gate == 2 and [o.kind for o in view.options] == [K.SECURITY_QUESTIONS]
    return begin_verification(handle=view.handle, kind=K.SECURITY_QUESTIONS, meta=meta)


def _right(view):
    return {q.key: ANSWERS[q.key].upper() + "  " for q in view.challenge.questions}


def test_questions_come_after_a_possession_gate_and_all_right_answers_pass(jan, meta):
    view = _at_questions(jan.user_id, meta)
    questions = view.challenge.questions
    assert len(questions) == 3 and len({q.key for q in questions}) == 3
    assert all(q.key in ANSWERS and q.text for q in questions)
    view = submit_verification(handle=view.handle, answer=_right(view), meta=meta)
    assert view.state == FlowState.NEW_PASSWORD


def test_one_wrong_answer_fails_the_set_and_the_same_questions_come_back(jan, meta):
    view = _at_questions(jan.user_id, meta)
    asked = [q.key for q in view.challenge.questions]
    wrong = _right(view) | {asked[-1]: "Canary-Wrong"}
    with pytest.raises(FlowError) as refused:
        submit_verification(handle=view.handle, answer=wrong, meta=meta)
    assert refused.value.code == "invalid_answers"
    # Another way and back, or a whole new flow: the same questions (attack A3).
    view = change_method(handle=view.handle, meta=meta)
    view = begin_verification(handle=view.handle, kind=K.SECURITY_QUESTIONS, meta=meta)
    assert [q.key for q in view.challenge.questions] == asked
    past_the_send_cooldown()  # one code to one inbox a minute (A5)
    assert [q.key for q in _at_questions(jan.user_id, meta).challenge.questions] == asked


def test_answering_correctly_draws_a_fresh_selection_next_time(jan, meta):
    view = _at_questions(jan.user_id, meta)
    submit_verification(handle=view.handle, answer=_right(view), meta=meta)
    assert not SecurityAnswer.objects.filter(user=jan, selected_at__isnull=False).exists()


def test_a_code_or_missing_answers_never_pass(jan, meta):
    view = _at_questions(jan.user_id, meta)
    partial = dict(list(_right(view).items())[:2])
    for attempt in ("123456", partial, {}):
        with pytest.raises(FlowError):
            submit_verification(handle=view.handle, answer=attempt, meta=meta)


def test_a_sixth_question_attempt_in_an_hour_blocks_the_user_id(jan, meta, clock):
    assert SSPR_QUESTIONS.limit == 5
    view = _at_questions(jan.user_id, meta)
    wrong = dict.fromkeys((q.key for q in view.challenge.questions), "Canary-Wrong")
    # Four wrong sets (four failed verifications: the fifth would block on its own)
    # and a right one use the hour's five attempts.
    for _attempt in range(4):  # the short pauses after the third and the fourth waited out
        with pytest.raises(FlowError) as refused:
            submit_verification(handle=view.handle, answer=wrong, meta=meta)
        throttles.wait_out(refused.value.retry_after)
    assert submit_verification(handle=view.handle, answer=_right(view), meta=meta).state == (
        FlowState.NEW_PASSWORD
    )
    view = _at_questions(jan.user_id, meta)
    with pytest.raises(FlowBlockedError) as blocked:
        submit_verification(handle=view.handle, answer=_right(view), meta=meta)
    assert blocked.value.view.state == FlowState.BLOCKED


def test_questions_alone_never_make_someone_eligible(user_factory):
    alone = user_factory("alone@contoso.example")
    replace_answers(alone, ANSWERS)
    assert eligibility_for(alone).reason.value == "OSSPR_0014"
    open_reset_policy(methods_required=1, allow_security_questions=True)
    assert eligibility_for(alone).reason.value == "OSSPR_0014"


def test_with_one_gate_questions_are_never_offered(jan, meta):
    open_reset_policy(methods_required=1, allow_security_questions=True)
    view = start_flow(identifier=jan.user_id, meta=meta)
    view = choose_operation(handle=view.handle, operation=Operation.RESET, meta=meta)
    assert [o.kind for o in view.options] == [K.EMAIL]
    with pytest.raises(FlowError):
        begin_verification(handle=view.handle, kind=K.SECURITY_QUESTIONS, meta=meta)


def test_administrators_are_never_offered_questions(user_factory):
    admin = user_factory(
        auth_email="a@mail.example", mobile_phone="+31612345678", roles=("global_admin",)
    )
    replace_answers(admin, ANSWERS)
    decision = eligibility_for(admin)
    assert decision.eligible
    assert K.SECURITY_QUESTIONS not in {m.kind for m in decision.methods}


def test_too_few_answers_for_the_policy_do_not_count(user_factory):
    few = user_factory("few@contoso.example", auth_email="few@mail.example")
    replace_answers(few, dict(list(ANSWERS.items())[:4]))  # the policy asks 5 at registration
    assert eligibility_for(few).reason.value == "OSSPR_0014"
