"""The swap's data migration: the reset flow's old throttle rows keep counting after it."""

import pytest
from django.apps import apps

from opensspr.throttles import rules, service
from opensspr.throttles.legacy import copy_sspr_throttles
from opensspr.throttles.subjects import typed_user_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def old_throttles():
    """The old module while it exists; this test retires with it."""
    try:
        apps.get_model("resets", "ThrottleSubject")
    except LookupError:
        pytest.skip("resets' own throttle models are gone: the swap is done")
    from opensspr.resets import throttles

    return throttles


def test_blocks_and_counts_in_force_survive_the_copy(old_throttles, clock):
    blocked, counting = typed_user_id("jan@contoso.example"), typed_user_id("piet@contoso.example")
    assert blocked == old_throttles.subject_key("jan@contoso.example")
    for _ in range(6):
        old_throttles.consume(blocked, old_throttles.Action.SMS, clock.now)
    for _ in range(4):
        old_throttles.record_failure(counting, clock.now)
    was_blocked_until = old_throttles.blocked_until(blocked, clock.now)

    copy_sspr_throttles(apps, None)

    assert service.blocked_until(rules.SSPR_EMAIL, blocked) == was_blocked_until
    assert service.list_blocks(rules.Scope.SSPR, [blocked])[blocked].by == "sspr.sms"
    assert service.blocked_until(rules.SSPR_EMAIL, counting) is None
    assert service.reserve(rules.SSPR_VERIFY_FAILURE, counting).penalised  # the 5th failure
