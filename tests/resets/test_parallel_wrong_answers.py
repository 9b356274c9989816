"""A burst of wrong answers across many flows of one user ID compares at most the limit."""

import pytest

from opensspr.audit.models import AuditEvent
from opensspr.channels import MessageKind
from opensspr.methods.challenges import destination_key
from opensspr.policy.kinds import MethodKind as K
from opensspr.policy.models import SsprPolicy
from opensspr.resets.flow import begin_verification, start_flow, submit_verification
from opensspr.throttles import service
from opensspr.throttles.models import Subject
from opensspr.throttles.rules import SSPR_VERIFY_FAILURE, Scope
from tests.concurrency import needs_concurrent_writers, race

ADDRESS = "burst@mail.example"
FLOWS = 10
ANSWERS_PER_FLOW = 5


@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_wrong_codes_over_ten_flows_compare_at_most_the_limit(user_factory, meta):
    needs_concurrent_writers()
    SsprPolicy.objects.update_or_create(
        pk=1, defaults={"scope": "all", "allow_email": True, "unlock_without_reset": False}
    )
    person = user_factory(auth_email=ADDRESS)
    handles = []
    for _ in range(FLOWS):
        started = start_flow(identifier=person.user_id, meta=meta)
        sent = begin_verification(handle=started.handle, kind=K.EMAIL, contact=ADDRESS, meta=meta)
        handles.append(sent.handle)
        # Ten codes to one inbox at once are held since attack A5's cap; this test is about
        # the answers, so the inbox's count starts afresh for each flow.
        service.clear(Scope.DESTINATION, destination_key(MessageKind.EMAIL, ADDRESS))

    def guess(handle: str) -> str:
        return submit_verification(handle=handle, answer="00000000x", meta=meta).state

    calls = [lambda h=h: guess(h) for h in handles for _ in range(ANSWERS_PER_FLOW)]
    outcomes = [getattr(o, "code", o) for o in race(*calls)]

    compared = AuditEvent.objects.filter(activity="reset.gate_failed", reason="wrong_answer")
    # The third wrong answer pauses that way under the row lock: nothing more is compared
    # (and never more than the day's limit).
    assert 1 <= compared.count() <= 3 <= SSPR_VERIFY_FAILURE.limit, outcomes
    # The pause is on the wrong answers' subject (the typed ID, from this kind of network).
    assert Subject.objects.filter(scope=Scope.SSPR, blocked_until__isnull=False).count() == 1
    assert "paused" in outcomes
    assert not AuditEvent.objects.filter(activity="reset.gate_passed").exists()
