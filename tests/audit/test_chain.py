"""The tamper-evident audit log: sealed in one keyed chain, verified link by link."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from opensspr.audit.activities import Activity
from opensspr.audit.chain import prune, seal_pending, verify
from opensspr.audit.models import AuditEvent, ChainHead, Outcome
from opensspr.audit.services import record_event
from opensspr.channels import deliver_due
from opensspr.core.request_meta import RequestMeta
from tests.concurrency import needs_concurrent_writers, race

pytestmark = pytest.mark.django_db


def _events(count: int, meta) -> None:
    for n in range(count):
        record_event(
            activity=Activity.SIGNIN_FAILED,
            outcome=Outcome.FAILURE,
            reason=f"wrong_password_{n}",
            meta=meta,
        )


def _raw(sql: str, *params) -> None:
    """Write behind the application's back, as someone with database access would."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_sealed_events_form_one_chain_that_verifies(meta):
    _events(5, meta)
    assert seal_pending() == 5
    assert seal_pending() == 0  # each event is sealed once
    sealed = list(AuditEvent.objects.order_by("chain_seq").values_list("chain_seq", flat=True))
    assert sealed == [1, 2, 3, 4, 5]
    verdict = verify()
    assert verdict.intact and verdict.checked == 5
    _events(2, meta)
    seal_pending()
    assert verify().checked == 7


def test_a_changed_event_is_found(meta):
    _events(4, meta)
    seal_pending()
    third = AuditEvent.objects.get(chain_seq=3)
    _raw("UPDATE audit_auditevent SET reason = %s WHERE id = %s", "nothing_happened", third.pk)
    verdict = verify()
    assert not verdict.intact
    assert (verdict.first_break.seq, verdict.first_break.event_id) == (3, third.pk)
    assert verdict.first_break.problem == "changed"
    assert verdict.checked == 2


def test_a_deleted_event_is_found(meta):
    _events(4, meta)
    seal_pending()
    _raw("DELETE FROM audit_auditevent WHERE chain_seq = %s", 2)
    verdict = verify()
    assert (verdict.first_break.seq, verdict.first_break.problem) == (2, "missing (deleted)")


def test_a_cut_off_end_is_found(meta):
    _events(4, meta)
    seal_pending()
    _raw("DELETE FROM audit_auditevent WHERE chain_seq > %s", 2)
    verdict = verify()
    assert (verdict.first_break.seq, verdict.first_break.problem) == (3, "missing at the end")


def test_a_rehashed_event_without_the_key_is_found(meta):
    """Recomputing a plain SHA-256 over the changed row doesn't help: the hash is keyed."""
    _events(3, meta)
    seal_pending()
    first = AuditEvent.objects.get(chain_seq=1)
    forged = "0" * 64
    _raw("UPDATE audit_auditevent SET chain_hash = %s WHERE id = %s", forged, first.pk)
    assert verify().first_break.problem == "changed"


def test_the_command_says_where_the_chain_breaks_and_exits_non_zero(meta, capsys):
    _events(3, meta)
    call_command("audit", "seal")
    call_command("audit", "verify")
    assert "The audit chain holds: 3 events checked." in capsys.readouterr().out
    _raw("UPDATE audit_auditevent SET activity = %s WHERE chain_seq = %s", "reset.completed", 2)
    with pytest.raises(CommandError, match=r"broken at link 2: event \d+ changed"):
        call_command("audit", "verify")


def test_the_worker_loop_seals_what_the_requests_wrote(meta):
    _events(2, meta)
    assert AuditEvent.objects.filter(chain_seq__isnull=True).count() == 2
    deliver_due()
    assert not AuditEvent.objects.filter(chain_seq__isnull=True).exists()
    assert ChainHead.objects.get(pk=1).seq == 2


@pytest.mark.django_db(transaction=True)
def test_parallel_writers_and_sealers_never_fork_the_chain():
    """Twenty writers and four sealers at once on PostgreSQL: one chain, no link twice."""
    needs_concurrent_writers()

    def write_and_seal(n: int) -> None:
        _events(3, RequestMeta(f"192.0.2.{n + 1}", "race", f"race-{n}"))
        if n % 5 == 0:
            seal_pending()

    outcomes = race(*[lambda n=n: write_and_seal(n) for n in range(20)])
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    seal_pending()
    assert AuditEvent.objects.filter(chain_seq__isnull=False).count() == 60
    verdict = verify()
    assert verdict.intact and verdict.checked == 60


def test_pruning_keeps_what_remains_verifiable_and_tampering_still_shows(meta, clock):
    _events(3, meta)
    clock.advance(days=400)
    _events(2, meta)
    seal_pending()
    deleted = prune(before=clock.now - timedelta(days=365))
    assert deleted == 3
    assert list(AuditEvent.objects.values_list("chain_seq", flat=True).order_by("chain_seq")) == [
        4,
        5,
    ]
    head = ChainHead.objects.get(pk=1)
    assert head.anchor_seq == 3
    assert verify().intact and verify().checked == 2
    assert prune(before=clock.now - timedelta(days=365)) == 0  # nothing older left
    _raw("UPDATE audit_auditevent SET reason = %s WHERE chain_seq = %s", "edited", 4)
    assert verify().first_break.seq == 4


def test_the_prune_command_uses_the_retention_setting(meta, clock, settings, capsys):
    settings.OPENSSPR_AUDIT_RETENTION_DAYS = 30
    _events(2, meta)
    clock.advance(days=31)
    _events(1, meta)
    call_command("audit", "prune")
    assert "Deleted 2 audit events older than 30 days" in capsys.readouterr().out
    call_command("audit", "verify")
