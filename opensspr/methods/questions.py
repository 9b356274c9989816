"""Security questions: the catalogue, answer rules, hashing, and the reset gate.

Security questions are weak (ASVS 6.4.2 and NIST 800-63B-4 forbid them as an
authenticator), so the product keeps them fenced in: off by default, never for
administrators, never the first gate (a possession gate always comes before
them, OWASP SQ-1), and the questions asked stay the same until they are
answered correctly (security bar A3, which overrides the reference's "a new
random selection after a wrong answer": re-rolling lets a guesser shop for the
questions they can look up).

Answers are compared after normalisation (Unicode NFKC, case folded, runs of
white space collapsed) and stored as argon2id hashes of that form: a database
dump holds no answer.
"""

import re
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from opensspr.accounts.models import User
from opensspr.accounts.signals import people_changed
from opensspr.core import clock
from opensspr.methods.base import Answer, GateContext, MethodError, Started
from opensspr.methods.models import SecurityAnswer
from opensspr.policy.kinds import MethodKind
from opensspr.policy.models import CustomQuestion
from opensspr.policy.reset_selectors import get_sspr_policy

ANSWER_MIN, ANSWER_MAX = 3, 40
PREDEFINED_PREFIX, CUSTOM_PREFIX = "predefined:", "custom:"

#: The 35 built-in questions (reference §4.6), in our own words. Their keys are
#: "predefined:<position>": never reorder or remove, only append.
PREDEFINED = (
    _("In which city did you meet your first spouse or partner?"),
    _("In which city did your parents meet?"),
    _("In which city does your closest sibling live?"),
    _("In which city was your father born?"),
    _("In which city did you have your first job?"),
    _("In which city was your mother born?"),
    _("Which city were you in on New Year's Eve 1999?"),
    _("What was the surname of your favourite secondary-school teacher?"),
    _("Which college or university did you apply to but not attend?"),
    _("Where was your first wedding reception held?"),
    _("What is your father's middle name?"),
    _("What is your favourite food?"),
    _("What is your maternal grandmother's full name?"),
    _("What is your mother's middle name?"),
    _("In which month and year was your oldest sibling born? (for example, November 1985)"),
    _("What is your oldest sibling's middle name?"),
    _("What is your paternal grandfather's full name?"),
    _("What is your youngest sibling's middle name?"),
    _("Which school did you go to when you were eleven?"),
    _("What was the full name of your best friend as a child?"),
    _("What was the full name of your first boyfriend or girlfriend?"),
    _("What was the surname of your favourite primary-school teacher?"),
    _("What was the make and model of your first car or motorbike?"),
    _("What was the name of the first school you went to?"),
    _("In which hospital were you born?"),
    _("In which street was the first home you remember?"),
    _("Who was your hero when you were a child?"),
    _("What was the name of your favourite cuddly toy?"),
    _("What was the name of your first pet?"),
    _("What was your nickname as a child?"),
    _("Which sport did you like best at secondary school?"),
    _("What was your first job?"),
    _("What were the last four digits of your phone number as a child?"),
    _("As a child, what did you want to be when you grew up?"),
    _("Who is the most famous person you have met?"),
)

_SPACES = re.compile(r"\s+")
_WORDS = re.compile(r"\w+")
#: Answers too common to protect anything (OWASP SQ-3), compared normalised.
TRIVIAL_ANSWERS = frozenset(
    {"123", "1234", "12345", "abc", "aaa", "xxx", "test", "password", "none", "n/a", "na", "idk"}
    | {"nothing", "unknown", "no", "yes", "secret", "qwerty", "asdf", "dunno", "-", "..."}
)


def predefined_key(position: int) -> str:
    return f"{PREDEFINED_PREFIX}{position}"


def normalise_answer(answer: str) -> str:
    """The form answers are hashed and compared in: "Den  Haag " == "den haag"."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", answer).casefold()).strip()


def hash_answer(answer: str) -> str:
    return make_password(normalise_answer(answer))


def answer_matches(answer: str, answer_hash: str) -> bool:
    """Constant-time argon2id check of one typed answer (never re-hashes on success)."""
    return check_password(normalise_answer(answer), answer_hash, setter=None)


# --- the catalogue -----------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    key: str
    text: str  # localised for predefined questions; as typed for custom ones


def question_text(key: str) -> str | None:
    """The question's wording now (None: a removed custom question or a bad key)."""
    prefix, _sep, number = key.partition(":")
    if not number.isdigit():
        return None
    if f"{prefix}:" == PREDEFINED_PREFIX and 1 <= int(number) <= len(PREDEFINED):
        return str(PREDEFINED[int(number) - 1])
    if f"{prefix}:" == CUSTOM_PREFIX:
        custom = CustomQuestion.objects.filter(pk=int(number)).first()
        return custom.text if custom else None
    return None


def list_questions() -> list[Question]:
    """Every question a person may choose at registration: built-in, then the organisation's."""
    built_in = [Question(predefined_key(i), str(t)) for i, t in enumerate(PREDEFINED, start=1)]
    custom = [Question(f"{CUSTOM_PREFIX}{q.pk}", q.text) for q in CustomQuestion.objects.all()]
    return built_in + custom


# --- registration rules ------------------------------------------------------------------


class AnswerProblem(Exception):
    """One registration rule broken; ``key`` is the question concerned ("" for the set)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


#: Words too common to count as "the question's own words" (English and Dutch).
_COMMON_WORDS = frozenset({
    "what", "which", "when", "where", "were", "your", "with", "does", "that", "this",
    "from", "have", "been", "into", "wat", "welke", "wanneer", "waar", "waren", "jouw",
    "jullie", "voor", "naar", "door", "zijn", "hebt", "heeft", "werd", "toen",
})  # fmt: skip


def _own_words(text: str) -> set[str]:
    """The words that make a question: four letters or more, not the common ones."""
    return {w for w in _WORDS.findall(normalise_answer(text)) if len(w) >= 4} - _COMMON_WORDS


def check_answers(
    user: User, answers: Mapping[str, str], *, required: int, forbidden: Sequence[str] = ()
) -> list[AnswerProblem]:
    """Every broken rule of reference §4.6 and OWASP SQ-3, for a whole set of answers.

    ``forbidden`` holds further values no answer may equal (the password being
    typed, say). Answers are compared normalised throughout.
    """
    problems: list[AnswerProblem] = []
    if len(answers) < required:
        problems.append(
            AnswerProblem("", str(_("Answer at least %(n)d questions.") % {"n": required}))
        )
    identity = {normalise_answer(v) for v in _identity_values(user) if v}
    identity |= {normalise_answer(v) for v in forbidden if v}
    seen: dict[str, str] = {}
    for key, answer in answers.items():
        text = question_text(key)
        if text is None:
            problems.append(AnswerProblem(key, str(_("Choose a question from the list."))))
            continue
        own = _answer_problems(key, text, answer, identity, seen)
        if not own and _is_password(user, answer):
            own = [AnswerProblem(key, str(_("Your answer can't be your password.")))]
        problems += own
    return problems


def _identity_values(user: User) -> list[str]:
    """What an answer may not be: the person's IDs, addresses and numbers (OWASP SQ-3)."""
    values = [user.user_id, user.user_id.split("@")[0], user.email, user.auth_email]
    for number in (user.mobile_phone, user.office_phone):
        digits = number.lstrip("+")
        values += [number, digits, digits[-9:]] if number else []
    return values


def _is_password(user: User, answer: str) -> bool:
    """The answer is the person's current password (built-in directory only; never re-hashed)."""
    return bool(user.password) and check_password(answer.strip(), user.password, setter=None)


def _answer_problems(
    key: str, text: str, answer: str, identity: set[str], seen: dict[str, str]
) -> list[AnswerProblem]:
    normal = normalise_answer(answer)
    if not ANSWER_MIN <= len(normal) <= ANSWER_MAX:
        message = _("Answers must be %(min)d to %(max)d characters long.") % {
            "min": ANSWER_MIN,
            "max": ANSWER_MAX,
        }
        return [AnswerProblem(key, str(message))]
    if normal in seen:
        return [AnswerProblem(key, str(_("Give a different answer to each question.")))]
    seen[normal] = key
    if normal in identity or normal.replace(" ", "") in identity:
        return [
            AnswerProblem(
                key, str(_("Your answer can't be your user ID, email address or phone number."))
            )
        ]
    if normal in TRIVIAL_ANSWERS:
        return [AnswerProblem(key, str(_("That answer is too easy to guess.")))]
    if _own_words(normal) & _own_words(text):
        return [AnswerProblem(key, str(_("Your answer can't repeat words of the question.")))]
    return []


def replace_answers(user: User, answers: Mapping[str, str]) -> None:
    """Store a checked set of answers in place of the old set (the caller audits)."""
    with transaction.atomic():
        SecurityAnswer.objects.filter(user=user).delete()
        SecurityAnswer.objects.bulk_create(
            SecurityAnswer(user=user, question_key=key, answer_hash=hash_answer(answer))
            for key, answer in answers.items()
        )
        people_changed.send(sender=SecurityAnswer, user_ids=[user.pk])


# --- the reset gate ----------------------------------------------------------------------


def _selection(user: User, count: int) -> list[SecurityAnswer]:
    """The questions to ask: the pending selection, or a fresh random one.

    Held on the answer rows, so every flow of this person (a reload, a new
    flow, another browser) gets the same questions until they are answered.
    """
    with transaction.atomic():
        rows = list(
            SecurityAnswer.objects.select_for_update().filter(user=user).order_by("question_key")
        )
        usable = [r for r in rows if question_text(r.question_key) is not None]
        chosen = [r for r in usable if r.selected_at is not None]
        if len(chosen) != count:
            chosen = secrets.SystemRandom().sample(usable, min(count, len(usable)))
            SecurityAnswer.objects.filter(user=user).update(selected_at=None)
            SecurityAnswer.objects.filter(pk__in=[r.pk for r in chosen]).update(
                selected_at=clock.now()
            )
    return sorted(chosen, key=lambda r: r.question_key)


def clear_selection(user: User) -> None:
    """Answered correctly: the next reset draws new questions."""
    SecurityAnswer.objects.filter(user=user).update(selected_at=None)


@dataclass(frozen=True)
class SecurityQuestionsMethod:
    kind: MethodKind = MethodKind.SECURITY_QUESTIONS
    needs_contact: bool = False

    def begin(self, ctx: GateContext, contact: str) -> Started:
        if ctx.user is None:
            raise MethodError("method_unavailable")  # decoys never reach a second gate
        count = get_sspr_policy().questions_to_reset
        chosen = _selection(ctx.user, count)
        if len(chosen) < count:
            raise MethodError("method_unavailable")
        return Started(channel="questions", question_keys=tuple(r.question_key for r in chosen))

    def verify(self, ctx: GateContext, started: Started, answer: Answer) -> bool:
        """All asked questions right, each checked (no early exit), or nothing passes."""
        if ctx.user is None or not isinstance(answer, Mapping) or not started.question_keys:
            return False
        hashes = dict(
            SecurityAnswer.objects.filter(
                user=ctx.user, question_key__in=started.question_keys
            ).values_list("question_key", "answer_hash")
        )
        results = [
            answer_matches(str(answer.get(key, ""))[: ANSWER_MAX * 2], hashes.get(key, ""))
            for key in started.question_keys
        ]
        if all(results) and len(results) == len(started.question_keys):
            clear_selection(ctx.user)
            return True
        return False
