"""Self-service reset blocks as administrators see and lift them (resets.blocks, the user page)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from opensspr.accounts.identifiers import identifier_key
from opensspr.audit.models import AuditEvent
from opensspr.core import clock as clock_module
from opensspr.policy.kinds import MethodKind as K
from opensspr.resets.blocks import (
    ResetBlock,
    get_reset_block,
    lift_reset_block,
    list_reset_blocks,
)
from opensspr.resets.flow import (
    FlowBlockedError,
    FlowError,
    begin_verification,
    start_flow,
    submit_verification,
)
from opensspr.resets.models import FlowState
from opensspr.throttles.models import Subject
from opensspr.throttles.rules import Scope
from opensspr.throttles.subjects import failure_subject
from tests.conftest import delivered, open_reset_policy, past_the_send_cooldown
from tests.resets import throttling as throttles
from tests.throttles.stored import count_uses

pytestmark = pytest.mark.django_db

ADDRESS = "jan@mail.example"
TYPED = "  JAN@Contoso.Example "  # how the person typed their user ID at /reset


@pytest.fixture(autouse=True)
def _policy():
    open_reset_policy(unlock_without_reset=False)  # straight to the gate


@pytest.fixture
def jan(user_factory):
    return user_factory(
        "jan@contoso.example", email="jan.jansen@contoso.example", auth_email=ADDRESS
    )


def _code(recipient):
    body = delivered(recipient=recipient).first().plaintext_body()  # newest first
    return re.search(r"\b(\d{6,8})\b", body).group(1)


def block_by_wrong_codes(typed, meta):
    """Five wrong codes at /reset, as a person (or an attacker) would type them, waiting out
    the short pauses after the third and the fourth; returns when the first was typed."""
    view = start_flow(identifier=typed, meta=meta)
    view = begin_verification(handle=view.handle, kind=K.EMAIL, contact=ADDRESS, meta=meta)
    first_at = clock_module.now()
    for _ in range(4):
        assert throttles.answer_wrong(view.handle, meta).code == "invalid_code"
    assert isinstance(throttles.answer_wrong(view.handle, meta), FlowBlockedError)
    return first_at


def _block_unknown(typed, clock):
    # Wrong answers from a network the ID never signed in from (an unknown ID has none).
    subject = failure_subject(
        throttles.subject_key(identifier_key(typed)), familiar=False, method="email"
    )
    for _ in range(5):
        throttles.record_failure(subject, clock.now)
    return subject


def _page(user):
    return f"/console/accounts/user/{user.pk}/change/"


def _lift(user):
    return f"/console/accounts/user/{user.pk}/lift-reset-block/"


# --- the selector ------------------------------------------------------------------------


def test_five_wrong_codes_block_the_user_whatever_case_and_spaces_they_typed(jan, meta, clock):
    assert get_reset_block(jan) is None
    first_at = block_by_wrong_codes(TYPED, meta)
    block = get_reset_block(jan)
    # Until the first of the five wrong codes is a day old.
    assert block == ResetBlock(first_at + timedelta(hours=24), "verify_failure")
    until, by = block  # a plain pair for callers that unpack it
    assert until == block.blocked_until
    assert by == "verify_failure" and block.reason_label == "too many failed verifications"
    assert list_reset_blocks([jan]) == {jan.pk: block}


def test_a_block_that_ran_out_is_no_block(jan, meta, clock):
    first_at = block_by_wrong_codes(jan.user_id, meta)
    clock.set(first_at + timedelta(hours=24, seconds=1))
    assert get_reset_block(jan) is None
    assert list_reset_blocks([jan]) == {}


def test_a_block_on_an_id_that_resolves_to_nobody_is_nobodys(jan, meta, clock):
    # Only the user ID resolves at /reset; the primary email is an unknown ID there.
    _block_unknown(jan.email, clock)
    _block_unknown("ghost@contoso.example", clock)
    assert get_reset_block(jan) is None
    assert list_reset_blocks([jan]) == {}


def test_many_users_blocks_are_read_in_two_queries(
    user_factory, meta, clock, django_assert_num_queries
):
    people = [user_factory() for _ in range(5)]
    with django_assert_num_queries(1):  # nobody blocked: no subject is even digested
        assert list_reset_blocks(people) == {}
    for person in people[:2]:
        for _ in range(5):
            throttles.record_failure(throttles.subject_key(person.user_id_key), clock.now)
    with django_assert_num_queries(2):  # whether any block exists, then the blocks
        blocks = list_reset_blocks(people)
    assert set(blocks) == {people[0].pk, people[1].pk}


# --- lifting (the service) ---------------------------------------------------------------


def test_lifting_clears_the_block_and_counters_and_a_fresh_flow_works(
    jan, user_factory, meta, clock
):
    helpdesk = user_factory(roles=("helpdesk_admin",))
    block_by_wrong_codes(TYPED, meta)
    paused = start_flow(identifier=jan.user_id, meta=meta)
    with pytest.raises(FlowError, match="method_paused"):  # email, the way that was guessed
        begin_verification(handle=paused.handle, kind=K.EMAIL, contact=ADDRESS, meta=meta)

    lifted = lift_reset_block(actor=helpdesk, user=jan, meta=meta)

    assert lifted.blocked_by == "verify_failure"
    assert get_reset_block(jan) is None
    sspr = Subject.objects.filter(scope=Scope.SSPR)
    assert not sspr.exists() and not count_uses(scope=Scope.SSPR)
    view = start_flow(identifier=TYPED, meta=meta)
    assert view.state == FlowState.VERIFY
    past_the_send_cooldown()  # one code to one inbox a minute (A5)
    view = begin_verification(handle=view.handle, kind=K.EMAIL, contact=ADDRESS, meta=meta)
    # The counters started afresh: one wrong code is one failure, not the sixth.
    with pytest.raises(FlowError, match="invalid_code"):
        submit_verification(handle=view.handle, answer="00000000", meta=meta)
    view = submit_verification(handle=view.handle, answer=_code(ADDRESS), meta=meta)
    assert view.state == FlowState.NEW_PASSWORD


def test_lifting_is_audited_with_the_throttle_and_never_what_was_typed(
    jan, user_factory, meta, clock
):
    helpdesk = user_factory(roles=("helpdesk_admin",))
    first_at = block_by_wrong_codes(TYPED, meta)
    lift_reset_block(actor=helpdesk, user=jan, meta=meta)
    event = AuditEvent.objects.get(activity="reset.block_lifted")
    assert (event.actor, event.target, event.outcome) == (helpdesk, jan, "success")
    assert first_at == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert event.details == {
        "throttle": "verify_failure",
        "blocked_until": "2026-11-24T09:00:00+00:00",
    }
    row = str(
        AuditEvent.objects.filter(pk=event.pk)
        .values("reason", "actor_label", "target_label", "details")
        .get()
    )
    assert TYPED.strip() not in row
    assert throttles.subject_key(identifier_key(TYPED)) not in row


def test_nothing_to_lift_writes_nothing(jan, user_factory, meta):
    helpdesk = user_factory(roles=("helpdesk_admin",))
    assert lift_reset_block(actor=helpdesk, user=jan, meta=meta) is None
    assert not AuditEvent.objects.filter(activity="reset.block_lifted").exists()


@pytest.mark.parametrize("role", ["security_admin"])
def test_a_role_that_may_not_change_users_may_not_lift(jan, user_factory, meta, role):
    block_by_wrong_codes(jan.user_id, meta)
    with pytest.raises(PermissionDenied):
        lift_reset_block(actor=user_factory(roles=(role,)), user=jan, meta=meta)
    assert get_reset_block(jan) is not None


def test_only_a_global_administrator_lifts_an_administrators_block(user_factory, meta, clock):
    admin = user_factory("boss@contoso.example", roles=("user_admin",))
    _block_unknown(admin.user_id, clock)  # the same subject the flow would count
    with pytest.raises(PermissionDenied):
        lift_reset_block(actor=user_factory(roles=("helpdesk_admin",)), user=admin, meta=meta)
    assert lift_reset_block(actor=user_factory(roles=("global_admin",)), user=admin, meta=meta)


def test_lifting_leaves_a_block_on_an_unknown_id_alone(jan, user_factory, meta, clock):
    started = clock.now
    ghost = _block_unknown("ghost@contoso.example", clock)
    primary = _block_unknown(jan.email, clock)
    block_by_wrong_codes(jan.user_id, meta)
    lift_reset_block(actor=user_factory(roles=("helpdesk_admin",)), user=jan, meta=meta)
    assert throttles.blocked_until(ghost, clock.now) == started + timedelta(hours=24)
    assert throttles.blocked_until(primary, clock.now) == started + timedelta(hours=24)
    ghost = start_flow(identifier="ghost@contoso.example", meta=meta)
    with pytest.raises(FlowError, match="method_paused"):
        begin_verification(handle=ghost.handle, kind=K.EMAIL, contact="x@mail.example", meta=meta)


# --- the console's user page -------------------------------------------------------------


def test_the_user_page_shows_the_block_and_lifts_it(client, jan, user_factory, meta):
    block_by_wrong_codes(TYPED, meta)
    client.force_login(user_factory(roles=("password_admin",)))
    page = client.get(_page(jan)).content.decode()
    assert "Self-service reset blocked until" in page
    assert "too many failed verifications" in page
    assert "Can use self-service password reset." not in page
    assert "Lift the block" in page and _lift(jan) in page

    response = client.post(_lift(jan), follow=True)
    assert response.redirect_chain == [(_page(jan), 302)]
    page = response.content.decode()
    assert "was lifted" in page
    assert "Self-service reset blocked until" not in page and "Lift the block" not in page
    assert "Can use self-service password reset." in page
    assert get_reset_block(jan) is None
    assert AuditEvent.objects.filter(activity="reset.block_lifted", target=jan).count() == 1


def test_the_lift_button_needs_a_post_with_its_csrf_token(jan, user_factory, meta):
    block_by_wrong_codes(jan.user_id, meta)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_factory(roles=("helpdesk_admin",)))
    assert client.get(_lift(jan)).status_code == 405
    assert client.post(_lift(jan)).status_code == 403
    assert get_reset_block(jan) is not None


def test_a_viewer_sees_the_block_but_no_button_and_cannot_lift(client, jan, user_factory, meta):
    block_by_wrong_codes(jan.user_id, meta)
    client.force_login(user_factory(roles=("security_admin",)))
    page = client.get(_page(jan)).content.decode()
    assert "Self-service reset blocked until" in page and "Lift the block" not in page
    assert client.post(_lift(jan)).status_code == 403
    assert get_reset_block(jan) is not None
    assert not AuditEvent.objects.filter(activity="reset.block_lifted").exists()


def test_a_short_pause_says_so_and_a_days_block_says_why(jan, meta, clock):
    view = start_flow(identifier=jan.user_id, meta=meta)
    view = begin_verification(handle=view.handle, kind=K.EMAIL, contact=ADDRESS, meta=meta)
    for _ in range(3):
        with pytest.raises(FlowError):
            submit_verification(handle=view.handle, answer="00000000", meta=meta)
    paused = get_reset_block(jan)
    assert paused.blocked_until == clock.now + timedelta(seconds=30)
    assert paused.reason_label == "a short pause after wrong codes in a row"
    clock.advance(seconds=31)
    assert get_reset_block(jan) is None
