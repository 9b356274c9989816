"""Security answers: normalisation, hashing, the registration rules of reference §4.6."""

import pytest
from django.db import connection

from opensspr.methods.models import SecurityAnswer
from opensspr.methods.questions import (
    PREDEFINED,
    answer_matches,
    check_answers,
    hash_answer,
    list_questions,
    normalise_answer,
    predefined_key,
    question_text,
    replace_answers,
)
from opensspr.policy.models import CustomQuestion
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

Q = predefined_key


@pytest.fixture
def jan(user_factory):
    return user_factory("jan@contoso.example", auth_email="jan.private@mail.example")


def _messages(problems):
    return {p.key: p.message for p in problems}


def test_there_are_35_predefined_questions_each_with_its_own_wording():
    assert len(PREDEFINED) == 35
    assert len({str(q) for q in PREDEFINED}) == 35
    assert question_text(Q(1)) == str(PREDEFINED[0])
    assert question_text(Q(35)) == str(PREDEFINED[34])
    assert question_text(Q(36)) is None and question_text("predefined:x") is None


def test_custom_questions_follow_the_built_in_ones_as_typed():
    custom = CustomQuestion.objects.create(text="Wat was de naam van je eerste fiets?")
    keys = [q.key for q in list_questions()]
    assert keys[:35] == [Q(n) for n in range(1, 36)] and keys[35] == f"custom:{custom.pk}"
    assert question_text(f"custom:{custom.pk}") == custom.text
    custom.delete()
    assert question_text(f"custom:{custom.pk}") is None


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Den  Haag", "den haag"),
        ("  DEN\tHAAG ", "den haag"),
        ("Straße", "strasse"),  # case folding, not just lower()
        ("ｆｏｏ bar", "foo bar"),  # NFKC: full-width letters
    ],
)
def test_answers_are_compared_case_space_and_width_insensitively(typed, stored):
    assert normalise_answer(typed) == stored
    assert answer_matches(typed, hash_answer(stored))


def test_a_wrong_answer_does_not_match_and_the_hash_is_not_the_answer():
    stored = hash_answer("Amsterdam")
    assert stored.startswith("argon2") and "amsterdam" not in stored.lower()
    assert not answer_matches("Rotterdam", stored)
    assert not answer_matches("Amsterdam", "")


def test_a_good_set_of_answers_has_no_problems(jan):
    answers = {Q(2): "Utrecht", Q(12): "stamppot", Q(29): "Bello"}
    assert check_answers(jan, answers, required=3) == []


def test_too_few_answers_are_refused(jan):
    problems = check_answers(jan, {Q(2): "Utrecht"}, required=3)
    assert _messages(problems)[""] == "Answer at least 3 questions."


@pytest.mark.parametrize("answer", ["ab", "x" * 41, "   a  "])
def test_answers_must_be_3_to_40_characters(jan, answer):
    problems = check_answers(jan, {Q(2): answer}, required=1)
    assert _messages(problems) == {Q(2): "Answers must be 3 to 40 characters long."}


def test_the_same_answer_twice_is_refused_even_when_spelled_differently(jan):
    problems = check_answers(jan, {Q(2): "Utrecht", Q(4): " UTRECHT"}, required=2)
    assert _messages(problems) == {Q(4): "Give a different answer to each question."}


def test_an_unknown_question_is_refused(jan):
    problems = check_answers(jan, {"predefined:99": "Utrecht", "custom:7": "Zwolle"}, required=2)
    assert set(_messages(problems)) == {"predefined:99", "custom:7"}


@pytest.mark.parametrize(
    "answer", ["jan@contoso.example", "JAN", "jan.private@mail.example", "Hunter-Two-22"]
)
def test_an_answer_may_not_be_the_user_id_an_email_or_a_forbidden_value(jan, answer):
    problems = check_answers(jan, {Q(2): answer}, required=1, forbidden=["Hunter-Two-22"])
    assert _messages(problems) == {
        Q(2): "Your answer can't be your user ID, email address or phone number."
    }


@pytest.mark.parametrize("answer", ["+31612345678", "31612345678", "612345678", "6 1234 5678"])
def test_an_answer_may_not_be_a_registered_phone_number(user_factory, answer):
    person = user_factory("piet@contoso.example", mobile_phone="+31612345678")
    problems = check_answers(person, {Q(2): answer}, required=1)
    assert _messages(problems) == {
        Q(2): "Your answer can't be your user ID, email address or phone number."
    }


def test_an_answer_may_not_be_the_current_password(jan):
    problems = check_answers(jan, {Q(2): "Utrecht", Q(4): DEFAULT_PASSWORD}, required=2)
    assert _messages(problems) == {Q(4): "Your answer can't be your password."}


def test_trivial_answers_are_refused(jan):
    problems = check_answers(jan, {Q(2): "Password"}, required=1)
    assert _messages(problems) == {Q(2): "That answer is too easy to guess."}


def test_an_answer_may_not_repeat_the_questions_own_words(jan):
    # "What was the name of your first pet?": "name" and "first" count; "the" and "pet"
    # are too short, and "your" or "what" too common.
    problems = check_answers(jan, {Q(29): "no name at all"}, required=1)
    assert _messages(problems) == {Q(29): "Your answer can't repeat words of the question."}
    assert check_answers(jan, {Q(29): "Bello, what a dog"}, required=1) == []


def test_replacing_answers_stores_only_hashes(jan):
    replace_answers(jan, {Q(2): "Canary-Utrecht", Q(12): "Canary-Stamppot"})
    replace_answers(jan, {Q(3): "Canary-Zwolle", Q(4): "Canary-Breda", Q(5): "Canary-Ede"})
    rows = SecurityAnswer.objects.filter(user=jan)
    assert sorted(rows.values_list("question_key", flat=True)) == [Q(3), Q(4), Q(5)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT answer_hash FROM methods_securityanswer")
        dumped = " ".join(row[0] for row in cursor.fetchall()).lower()
    assert "canary" not in dumped and "zwolle" not in dumped
