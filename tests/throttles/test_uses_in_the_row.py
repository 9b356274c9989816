"""A subject's uses live in its row: one statement takes them, one gives them back, and
the row keeps only what still counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opensspr.throttles import rules, service
from opensspr.throttles.models import Subject
from tests.throttles.stored import count_uses

pytestmark = pytest.mark.django_db
INBOX = "email:jan@mail.example"
JAN = "jan@contoso.example"


def _statements(queries: CaptureQueriesContext) -> list[str]:
    control = ("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT")
    return [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(control)]


def test_a_batch_is_one_statement_and_a_give_back_one_more(clock):
    takes = [(rules.SSPR_CONTACT_CHECKS_PER_ADDRESS, "192.0.2.7"), (rules.SSPR_VERIFY_FAILURE, JAN)]
    with CaptureQueriesContext(connection) as queries:
        taken = service.reserve_many(takes)
    assert [r.allowed for r in taken] == [True, True]
    assert len(_statements(queries)) == 1
    assert count_uses() == 2
    with CaptureQueriesContext(connection) as queries:
        service.give_back_many(taken)
    assert len(_statements(queries)) == 1
    assert count_uses() == 0
    service.give_back_many(taken)  # twice: nothing left to take, and no error
    assert count_uses() == 0


def test_a_refused_use_is_taken_out_again_and_what_came_before_stays(clock):
    takes = [(rules.DESTINATION_CODES, INBOX), (rules.DESTINATION_COOLDOWN, INBOX)]
    assert [v.allowed for v in service.hit_many(takes)] == [True, True]
    assert [v.allowed for v in service.hit_many(takes)] == [True, False]
    assert count_uses(rule=rules.DESTINATION_CODES.name) == 2
    assert count_uses(rule=rules.DESTINATION_COOLDOWN.name) == 1


def test_uses_that_left_their_window_are_dropped_so_a_busy_row_stays_small(clock):
    """A cooldown of a minute used every two minutes for a day keeps a handful of uses."""
    for _ in range(720):
        assert service.hit(rules.DESTINATION_COOLDOWN, INBOX).allowed
        clock.advance(minutes=2)
    (stored,) = Subject.objects.values_list("uses", flat=True)
    assert 1 <= len(stored) <= 9


def test_a_penalty_and_its_give_back_leave_the_counts_right(clock):
    """The limit-th failure sets the block and is given back with it (right answer)."""
    for _ in range(rules.SSPR_QUESTIONS.max_uses() - 1):
        assert service.reserve(rules.SSPR_QUESTIONS, JAN).allowed
    last = service.reserve(rules.SSPR_QUESTIONS, JAN)
    assert last.penalised and service.blocked_until(rules.SSPR_EMAIL, JAN) is not None
    service.give_back(last)
    assert service.blocked_until(rules.SSPR_EMAIL, JAN) is None
    assert count_uses(rule=rules.SSPR_QUESTIONS.name) == rules.SSPR_QUESTIONS.max_uses() - 1
    clock.advance(hours=1, seconds=1)
    assert service.reserve(rules.SSPR_QUESTIONS, JAN).verdict.used == 1  # the window moved on
