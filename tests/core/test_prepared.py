"""A select compiled once answers exactly what its queryset answers, for each call's values."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from opensspr.audit.models import AuditEvent
from opensspr.channels.models import Message
from opensspr.core.prepared import (
    Param,
    PreparedSelect,
    insert,
    insert_unless_taken,
    update_where,
)
from opensspr.policy.kinds import MethodKind as K
from opensspr.resets.flow import begin_verification, choose_operation, start_flow
from opensspr.resets.flow.handles import _ANNOTATIONS, _FLOW, _OPEN_CHALLENGE
from opensspr.resets.models import Challenge, FlowState, Operation, ResetFlow
from tests.conftest import open_reset_policy

pytestmark = pytest.mark.django_db
DIGEST = Param(ResetFlow._meta.get_field("handle_digest"))


@pytest.fixture
def flows(user_factory, meta):
    """Two people's flows, one with a code sent (an open challenge)."""
    open_reset_policy()
    jan = user_factory("jan@contoso.example", auth_email="jan@mail.example")
    user_factory("ida@contoso.example", auth_email="ida@mail.example")
    view = start_flow(identifier=jan.user_id, meta=meta)
    view = choose_operation(handle=view.handle, operation=Operation.RESET, meta=meta)
    begin_verification(handle=view.handle, kind=K.EMAIL, contact="jan@mail.example", meta=meta)
    start_flow(identifier="ida@contoso.example", meta=meta)
    return ResetFlow.objects.order_by("pk")


def _same(found, expected, annotations):
    assert type(found) is type(expected)
    assert model_to_dict(found) == model_to_dict(expected)
    assert found._state.adding is False and found._state.db == "default"
    for name in annotations:
        assert getattr(found, name) == getattr(expected, name), name


def test_each_flow_comes_back_as_the_orm_reads_it_person_and_facts_included(flows):
    assert flows.count() == 2
    for row in flows:
        expected = (
            ResetFlow.objects.select_related("user").annotate(**_ANNOTATIONS()).get(pk=row.pk)
        )
        found = _FLOW.first(row.handle_digest)
        _same(found, expected, _ANNOTATIONS())
        with CaptureQueriesContext(connection) as queries:  # the person was joined
            _same(found.user, expected.user, ())
        assert not queries.captured_queries
    assert _FLOW.first("no such digest") is None


def test_the_time_is_the_calls_own_not_the_one_it_was_compiled_with(flows, clock):
    challenge = Challenge.objects.select_related("flow").get()
    digest = challenge.flow.handle_digest
    before = challenge.expires_at - timedelta(seconds=1)
    found = _OPEN_CHALLENGE.first(digest, before)
    assert found is not None and found.pk == challenge.pk
    assert found.flow.pk == challenge.flow.pk and found.flow.user.pk == challenge.flow.user_id
    assert _OPEN_CHALLENGE.first(digest, challenge.expires_at) is None  # expired by then
    assert _OPEN_CHALLENGE.first(digest, before) is not None  # and the plan kept no value


def test_a_plan_made_in_one_thread_runs_on_another_threads_connection(flows):
    select = PreparedSelect(
        lambda digest: ResetFlow.objects.filter(handle_digest=digest).order_by("pk")[:1], DIGEST
    )
    row = flows.first()
    assert select.first(row.handle_digest).pk == row.pk  # compiled here
    seen, errors = [], []

    def other() -> None:
        try:
            seen.append(select.first(row.handle_digest))
        except Exception as exc:  # shown by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith(
        "file:memorydb"
    ):
        pytest.skip("an in-memory test database is one connection")
    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert not errors
    # The test's transaction isn't visible there: the plan ran, and found nothing.
    assert seen == [None]


def test_a_select_whose_text_depends_on_the_value_is_refused():
    by_value = PreparedSelect(
        lambda digest: (
            ResetFlow.objects.filter(handle_digest=digest)
            if "-0-" in digest
            else ResetFlow.objects.filter(subject=digest)
        )[:1],
        DIGEST,
    )
    with pytest.raises(ValueError, match="change more than"):
        by_value.first("x")


def test_a_value_the_select_does_not_use_is_refused():
    unused = PreparedSelect(lambda digest: ResetFlow.objects.order_by("pk")[:1], DIGEST)
    with pytest.raises(ValueError, match="change more than"):
        unused.first("x")


def test_only_querysets_of_model_instances_are_prepared():
    values = PreparedSelect(
        lambda digest: ResetFlow.objects.filter(handle_digest=digest).values("pk")[:1], DIGEST
    )
    with pytest.raises(TypeError):
        values.first("x")


def test_a_conditional_update_changes_only_the_row_it_names_as_it_stood(flows, clock):
    first, second = list(flows)
    when = clock.now.replace(microsecond=123456)
    changed = update_where(
        ResetFlow,
        {"pk": first.pk, "version": first.version, "state": first.state},
        {"state": FlowState.VERIFY, "verified_at": when, "gates_passed": 1},
        counted="version",
    )
    assert changed == 1
    first_after, second_after = (
        ResetFlow.objects.get(pk=first.pk),
        ResetFlow.objects.get(pk=second.pk),
    )
    assert (first_after.state, first_after.verified_at, first_after.gates_passed) == (
        "verify",
        when,
        1,
    )
    assert first_after.version == first.version + 1
    assert model_to_dict(second_after) == model_to_dict(second)  # untouched
    stale = {"pk": first.pk, "version": first.version, "state": first.state}
    assert update_where(ResetFlow, stale, {"state": FlowState.DONE}, counted="version") == 0
    assert ResetFlow.objects.get(pk=first.pk).state == FlowState.VERIFY


def test_a_conditional_update_refuses_a_none_filter():
    with pytest.raises(ValueError, match="IS NULL"):
        update_where(ResetFlow, {"pk": 1, "verified_at": None}, {"state": "done"})


def test_a_conditional_update_takes_comparisons_and_null_tests_as_the_orm_does(flows, clock):
    """A code's try reserved below its limit and a challenge ended once, as the ORM would."""
    challenge = Challenge.objects.get()
    reserve = {"pk": challenge.pk, "tries__lt": 2}
    assert update_where(Challenge, reserve, {}, counted=("tries",)) == 1
    assert update_where(Challenge, reserve, {}, counted=("tries",)) == 1
    assert update_where(Challenge, reserve, {}, counted=("tries",)) == 0  # the limit held
    assert Challenge.objects.get().tries == 2
    assert Challenge.objects.filter(pk=challenge.pk, tries__lte=2, tries__gt=1).exists()
    ended = {"pk": challenge.pk, "consumed_at__isnull": True}
    assert update_where(Challenge, {**ended, "tries__gte": 2}, {"consumed_at": clock.now}) == 1
    assert update_where(Challenge, ended, {"consumed_at": clock.now}) == 0  # once only
    assert Challenge.objects.get().consumed_at == clock.now
    still_open = {"pk": challenge.pk, "consumed_at__isnull": False, "tries__lte": 1}
    assert update_where(Challenge, still_open, {"tries": 0}) == 0  # 2 tries: not ≤ 1
    assert update_where(Challenge, {**still_open, "tries__lte": 2}, {"tries": 0}) == 1
    assert Challenge.objects.get().tries == 0


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"pk": 1, "consumed_at__isnull": None}, "True or False"),
        ({"pk": 1, "tries__in": [1, 2]}, "lookup 'in'"),
        ({"pk": 1, "tries__lt": None}, "IS NULL"),
    ],
)
def test_a_conditional_update_refuses_what_it_does_not_know(filters, message):
    with pytest.raises(ValueError, match=message):
        update_where(Challenge, filters, {"tries": 0})


def _event(n: int) -> AuditEvent:
    return AuditEvent(
        occurred_at=timezone.now().replace(microsecond=1000 + n),
        activity="delivery.sent",
        outcome="success",
        correlation_id=f"c{n}",
        ip_address="2001:db8::1" if n else None,
        details={"n": n, "nested": {"é": [1, 2]}},
    )


def _stored(event: AuditEvent) -> dict[str, object]:
    return model_to_dict(AuditEvent.objects.get(pk=event.pk))


@pytest.mark.parametrize("count", [1, 3])
def test_rows_inserted_together_read_back_as_saved_ones_with_their_keys(count):
    saved = [_event(n) for n in range(count)]
    for event in saved:
        AuditEvent.objects.bulk_create([event])
    inserted = [_event(n) for n in range(count)]
    insert(inserted)
    assert all(event.pk and not event._state.adding for event in inserted)
    assert len({event.pk for event in inserted + saved}) == 2 * count
    for mine, theirs in zip(inserted, saved, strict=True):
        assert {**_stored(mine), "id": 0} == {**_stored(theirs), "id": 0}


@pytest.mark.django_db(transaction=True)
def test_rows_inserted_outside_a_transaction_get_their_keys_too():
    events = [_event(n) for n in range(3)]
    insert(events)
    assert [_stored(event)["correlation_id"] for event in events] == ["c0", "c1", "c2"]


def test_a_none_value_is_refused_not_compared_as_equal():
    with pytest.raises(ValueError, match="IS NULL"):
        _FLOW.first(None)


def test_what_the_plan_cannot_carry_is_refused():
    locking = PreparedSelect(
        lambda digest: ResetFlow.objects.select_for_update().filter(handle_digest=digest)[:1],
        DIGEST,
    )
    with pytest.raises(TypeError):
        locking.first("x")
    with pytest.raises(TypeError, match="no marker"):
        PreparedSelect(
            lambda decoy: ResetFlow.objects.filter(decoy=decoy)[:1],
            Param(ResetFlow._meta.get_field("decoy")),
        )


def test_a_select_by_key_reads_each_calls_row(flows):
    by_key = PreparedSelect(
        lambda pk: ResetFlow.objects.filter(pk=pk).order_by("pk")[:1], Param(ResetFlow._meta.pk)
    )
    for flow in ResetFlow.objects.all():
        assert model_to_dict(by_key.first(flow.pk)) == model_to_dict(flow)
    assert by_key.first(ResetFlow.objects.order_by("-pk")[0].pk + 1) is None


def test_a_row_whose_unique_value_is_taken_is_not_inserted_and_nothing_breaks():
    """The notification queued again under its key: no row, no error, the transaction lives."""

    def message() -> Message:
        return Message(
            kind="email",
            purpose="notification",
            recipient="jan@mail.example",
            idempotency_key="notify:c1:jan@mail.example",
            correlation_id="c1",
            next_attempt_at=timezone.now(),
            created_at=timezone.now(),
        )

    with transaction.atomic():
        first, second = message(), message()
        assert insert_unless_taken(first) is True
        assert first.pk is not None
        assert insert_unless_taken(second) is False
        assert second.pk is None
        assert Message.objects.filter(pk=first.pk).exists()  # still usable after the "conflict"
    assert list(Message.objects.values_list("pk", flat=True)) == [first.pk]


BY_KEY = PreparedSelect(
    lambda pk: ResetFlow.objects.filter(pk=pk).order_by("pk")[:1],
    Param(ResetFlow._meta.pk),
)


def _blocking_sql() -> str:
    """``UPDATE`` of a flow's state: its parameters the new state and the flow's key."""
    q = connection.ops.quote_name
    return f"UPDATE {q('resets_resetflow')} SET {q('state')} = %s WHERE {q('id')} = %s"  # noqa: S608  # quoted names only


def test_an_update_returns_the_row_it_changed_as_a_select_after_it_would_read_it(flows):
    flow = flows.first()
    with transaction.atomic():
        found = BY_KEY.returned(_blocking_sql(), [FlowState.BLOCKED, flow.pk])
        missing = BY_KEY.returned(_blocking_sql(), [FlowState.BLOCKED, flow.pk + 1000])
    assert missing is None
    expected = ResetFlow.objects.get(pk=flow.pk)
    assert expected.state == FlowState.BLOCKED
    _same(found, expected, ())
    for field in ResetFlow._meta.concrete_fields:  # each converted as the ORM converts it
        mine, theirs = getattr(found, field.attname), getattr(expected, field.attname)
        assert type(mine) is type(theirs) and mine == theirs, field.name
    assert found.created_at == expected.created_at and found.user_id == flow.user_id


@pytest.mark.django_db(transaction=True)
def test_an_update_returning_its_row_is_refused_where_it_cannot_be_read_safely(flows):
    flow = flows.first()
    if connection.vendor == "sqlite":  # the write would stay open past the writer lock
        with pytest.raises(ValueError, match="inside a transaction"):
            BY_KEY.returned(_blocking_sql(), [FlowState.BLOCKED, flow.pk])
    with transaction.atomic(), pytest.raises(TypeError, match="own table"):
        _FLOW.returned(_blocking_sql(), [FlowState.BLOCKED, flow.pk])  # the person joined
    q = connection.ops.quote_name
    every_flow = f"UPDATE {q('resets_resetflow')} SET {q('state')} = %s"  # noqa: S608  # quoted names only
    with pytest.raises(ValueError, match="changed 2 rows"), transaction.atomic():
        BY_KEY.returned(every_flow, [FlowState.BLOCKED])
    assert not ResetFlow.objects.filter(state=FlowState.BLOCKED).exists()  # rolled back
