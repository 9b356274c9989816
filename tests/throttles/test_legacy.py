"""The swap's data migration: the reset flow's old throttle rows keep counting after it."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from opensspr.throttles import rules, service
from opensspr.throttles.subjects import typed_user_id
from tests.throttles.stored import count_uses

BEFORE = [("resets", "0005_challenge_shared_state"), ("throttles", "0001_subjects_and_uses")]
AFTER = [("resets", "0006_throttles_move_to_the_throttle_app")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_models():
    """The schema just before the old tables go; the latest schema again afterwards."""
    old = _migrate(BEFORE)
    yield old.get_model("resets", "ThrottleSubject"), old.get_model("resets", "ThrottleEvent")
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_blocks_and_counts_in_force_survive_the_copy(old_models, clock):
    subject_model, event_model = old_models
    blocked, counting = typed_user_id("jan@contoso.example"), typed_user_id("piet@contoso.example")
    # What the old module left after 6 texts (the 6th blocked) and 4 failed verifications.
    was_blocked_until = clock.now + timedelta(hours=24)
    row = subject_model.objects.create(
        key=blocked, blocked_until=was_blocked_until, blocked_by="sms"
    )
    event_model.objects.bulk_create(
        [event_model(subject=row, action="sms", at=clock.now) for _ in range(5)]
    )
    row = subject_model.objects.create(key=counting)
    event_model.objects.bulk_create(
        [event_model(subject=row, action="verify_failure", at=clock.now) for _ in range(4)]
    )

    _migrate(AFTER)
    # And on to today's schema: the uses move again, into their subject's row (0004).
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    assert service.blocked_until(rules.SSPR_EMAIL, blocked) == was_blocked_until
    assert service.list_blocks(rules.Scope.SSPR, [blocked])[blocked].by == "sspr.sms"
    assert service.blocked_until(rules.SSPR_EMAIL, counting) is None
    assert service.reserve(rules.SSPR_VERIFY_FAILURE, counting).penalised  # the 5th failure


@pytest.mark.django_db(transaction=True)
def test_uses_move_into_their_rows_and_a_quiet_day_rule_keeps_its_older_failures(clock):
    """``throttles 0004``: smart lockout counts every failure until a whole day passes
    without one, so failures older than a day still count and must be carried over."""
    old = _migrate([("throttles", "0003_uses_deleted_by_the_database")])
    subject_model, use_model = (
        old.get_model("throttles", "Subject"),
        old.get_model("throttles", "Use"),
    )
    rule, key = rules.SIGNIN_LOCKOUT, "lockout-key"
    # Nine wrong passwords, one every 3 hours from 30 hours ago to 6 hours ago.
    at = [clock.now - timedelta(hours=30 - 3 * i) for i in range(9)]
    locking = subject_model.objects.create(
        scope=rule.scope, key=service.digest(rule.scope, key), last_use_at=at[-1]
    )
    use_model.objects.bulk_create([use_model(subject=locking, rule=rule.name, at=t) for t in at])
    sending = subject_model.objects.create(
        scope=rules.SSPR_SMS.scope, key=service.digest(rules.SSPR_SMS.scope, "jan")
    )
    use_model.objects.bulk_create(
        [
            use_model(subject=sending, rule=rules.SSPR_SMS.name, at=clock.now - timedelta(days=2)),
            use_model(subject=sending, rule=rules.SSPR_SMS.name, at=clock.now),
        ]
    )

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    assert service.reserve(rule, key).verdict.used == 10  # all nine carried: the tenth locks
    assert count_uses(rule=rules.SSPR_SMS.name) == 1  # two days old counts for nothing
