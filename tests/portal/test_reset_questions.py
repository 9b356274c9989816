"""The security-questions page of the reset portal."""

import re

import pytest

from opensspr.methods.questions import question_text, replace_answers
from tests.conftest import update_policy

pytestmark = pytest.mark.django_db
ANSWERS = {f"predefined:{n}": f"Canary-Answer-{n}" for n in (2, 4, 12, 29, 30)}


@pytest.fixture
def at_questions(portal, jan):
    replace_answers(jan, ANSWERS)
    update_policy(methods_required=2, allow_security_questions=True)
    portal.to_verify(jan.user_id)
    gate_2 = portal.pass_email("jan@mail.example").content.decode()
    assert 'value="security_questions"' in gate_2
    assert portal.post("method", method="security_questions").status_code == 302
    return portal


def _asked(html):
    labels = re.findall(r'<label for="id_answer_(\d)">([^<]+)</label>', html)
    by_text = {question_text(k): k for k in ANSWERS}
    return {f"answer_{n}": by_text[text.replace("&#x27;", "'")] for n, text in labels}


def test_the_page_asks_each_question_and_right_answers_move_on(at_questions):
    html = at_questions.page().content.decode()
    asked = _asked(html)
    assert len(asked) == 3 and 'autocomplete="off"' in html
    answered = at_questions.post("answer", **{f: ANSWERS[k] for f, k in asked.items()})
    assert answered.status_code == 302
    assert "Choose a new password" in at_questions.page().content.decode()


def test_a_wrong_set_is_told_at_the_top_without_naming_the_wrong_answer(at_questions):
    asked = _asked(at_questions.page().content.decode())
    typed = {f: ANSWERS[k] for f, k in asked.items()} | {"answer_1": "Canary-Wrong"}
    html = at_questions.post("answer", **typed).content.decode()
    assert "At least one answer isn&#x27;t right" in html
    assert "Canary-" not in html  # nothing typed is drawn back
    assert _asked(html) == asked


def test_an_empty_answer_is_pointed_at_and_nothing_is_counted(at_questions):
    asked = _asked(at_questions.page().content.decode())
    typed = {f: ANSWERS[k] for f, k in asked.items()} | {"answer_2": ""}
    html = at_questions.post("answer", **typed).content.decode()
    assert "Answer this question." in html and 'id="id_answer_2_error"' in html
