"""The flow moves only along its declared table; every other step is refused."""

import pytest

from opensspr.core.request_meta import RequestMeta
from opensspr.resets.flow import TRANSITIONS, FlowError, Step, advance, load_flow, start_flow
from opensspr.resets.flow.transitions import may_take
from opensspr.resets.models import FlowState, ResetFlow
from tests.conftest import open_reset_policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def flow(user_factory, meta):
    open_reset_policy()
    person = user_factory(auth_email="jan@mail.example")
    started = start_flow(identifier=person.user_id, meta=meta)
    return started.handle, ResetFlow.objects.get()


@pytest.mark.parametrize("state", list(FlowState))
@pytest.mark.parametrize("step", list(Step))
def test_a_step_is_legal_only_where_the_table_has_a_row(flow, state, step):
    _handle, row = flow
    row.state = state
    assert may_take(row, step) == ((state, step) in TRANSITIONS)


def test_ended_flows_take_no_step():
    assert not [key for key in TRANSITIONS if key[0] in (FlowState.DONE, FlowState.BLOCKED)]


def test_loading_for_a_step_the_state_does_not_allow_refuses_it(flow, clock):
    handle, _row = flow  # at "choose operation"
    with pytest.raises(FlowError, match="wrong_step"):
        load_flow(handle, clock.now, Step.BEGIN_GATE)
    assert load_flow(handle, clock.now, Step.CHOOSE_OPERATION).state == FlowState.CHOOSE_OPERATION


def test_advance_takes_the_next_state_from_the_table_and_kills_the_handle(flow, clock):
    handle, row = flow
    new = advance(row, Step.CHOOSE_OPERATION, operation="reset")
    assert row.state == FlowState.VERIFY == ResetFlow.objects.get().state
    with pytest.raises(FlowError, match="flow_not_found"):
        load_flow(handle, clock.now)
    assert load_flow(new, clock.now).version == row.version


def test_advance_refuses_a_stale_copy(flow):
    _handle, row = flow
    stale = ResetFlow.objects.get()
    advance(row, Step.CHOOSE_OPERATION, operation="reset")
    with pytest.raises(FlowError, match="flow_conflict"):
        advance(stale, Step.BLOCK)


def test_a_decoy_never_takes_a_step_only_real_flows_take(meta: RequestMeta):
    open_reset_policy()
    start_flow(identifier="nobody@contoso.example", meta=meta)
    decoy = ResetFlow.objects.get()
    decoy.state = FlowState.NEW_PASSWORD
    assert not may_take(decoy, Step.SET_PASSWORD)
    assert may_take(decoy, Step.BLOCK)
