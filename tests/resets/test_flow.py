"""The reset and unlock flow engine, driven through its services."""

import re

import pyotp
import pytest

from opensspr.audit.models import AuditEvent
from opensspr.core.crypto import seal
from opensspr.methods.models import AuthenticatorApp
from opensspr.policy.kinds import MethodKind as K
from opensspr.policy.models import SsprPolicy
from opensspr.resets.flow import (
    FlowBlockedError,
    FlowError,
    PasswordRejectedError,
    begin_verification,
    change_method,
    choose_operation,
    confirm_voice_call,
    get_flow,
    set_new_password,
    start_flow,
    submit_verification,
)
from opensspr.resets.models import FlowState, Operation
from opensspr.signin.services import SignInOutcome, sign_in
from tests.concurrency import needs_concurrent_writers, race
from tests.conftest import (
    DEFAULT_PASSWORD,
    delivered,
    open_reset_policy,
    past_the_send_cooldown,
    update_policy,
)
from tests.resets import throttling as throttles
from tests.throttles.stored import count_uses

pytestmark = pytest.mark.django_db
NEW = "Lantern-Harbour-Quiet-93"
MOBILE = "+31612345678"


@pytest.fixture(autouse=True)
def _policy():
    open_reset_policy()


@pytest.fixture
def jan(user_factory):
    return user_factory(
        "jan@contoso.example",
        auth_email="jan@mail.example",
        mobile_phone=MOBILE,
        office_phone="+31205550102",
    )


def _code(recipient):
    body = delivered(recipient=recipient).first().plaintext_body()
    return re.search(r"\b(\d{6,8})\b", body).group(1)


def _reset_flow(user_id, meta):
    view = start_flow(identifier=user_id, meta=meta)
    return choose_operation(handle=view.handle, operation=Operation.RESET, meta=meta)


def _pass_email(view, meta, address="jan@mail.example"):
    view = begin_verification(handle=view.handle, kind=K.EMAIL, contact=address, meta=meta)
    return submit_verification(handle=view.handle, answer=_code(address), meta=meta)


def test_a_full_email_reset_sets_the_password_and_tells_the_person(jan, meta, clock):
    view = _reset_flow(jan.user_id, meta)
    assert view.state == FlowState.VERIFY and view.gate == 1 and view.gates_required == 1
    assert {o.kind for o in view.options} == {K.EMAIL, K.MOBILE_SMS, K.MOBILE_VOICE, K.OFFICE_VOICE}
    view = _pass_email(view, meta)
    assert view.state == FlowState.NEW_PASSWORD
    view = set_new_password(handle=view.handle, new_password=NEW, meta=meta)
    assert view.state == FlowState.DONE
    assert sign_in(identifier=jan.user_id, password=NEW, meta=meta).outcome == (
        SignInOutcome.SUCCESS
    )
    notes = delivered(recipient="jan@mail.example").filter(purpose="reset.notification")
    assert notes.count() == 1
    activities = list(
        AuditEvent.objects.filter(target=jan).order_by("id").values_list("activity", flat=True)
    )
    assert (
        activities[-6:]
        == [
            "reset.started",
            "reset.operation_chosen",
            "reset.method_started",
            "reset.gate_passed",
            "reset.completed",
            "delivery.queued",
        ][:6]
        or "reset.completed" in activities
    )


def test_codes_go_only_to_the_stored_address_and_need_the_full_contact(jan, meta):
    view = _reset_flow(jan.user_id, meta)
    for typed in ("attacker@evil.example", "+31 6 12345679"):
        kind = K.EMAIL if "@" in typed else K.MOBILE_SMS
        with pytest.raises(FlowError, match="contact_mismatch"):
            begin_verification(handle=view.handle, kind=kind, contact=typed, meta=meta)
    view = begin_verification(
        handle=view.handle, kind=K.EMAIL, contact="JAN@mail.example ", meta=meta
    )
    assert not delivered(recipient="attacker@evil.example").exists()
    # Case and spaces don't matter; the code still goes to the stored address.
    assert delivered(recipient="jan@mail.example").count() == 1
    view = begin_verification(
        handle=view.handle,
        kind=K.MOBILE_SMS,
        contact="06 12345678 ".replace("06", "+31 6"),
        meta=meta,
    )
    assert delivered(recipient=MOBILE).count() == 1


def test_two_gates_need_two_distinct_pieces_of_data(jan, meta):
    update_policy(methods_required=2)
    view = _pass_email(_reset_flow(jan.user_id, meta), meta)
    assert view.state == FlowState.VERIFY and view.gate == 2
    assert K.EMAIL not in {o.kind for o in view.options}
    with pytest.raises(FlowError, match="method_unavailable"):
        begin_verification(handle=view.handle, kind=K.EMAIL, contact="jan@mail.example", meta=meta)
    view = begin_verification(handle=view.handle, kind=K.MOBILE_SMS, contact=MOBILE, meta=meta)
    view = submit_verification(handle=view.handle, answer=_code(MOBILE), meta=meta)
    assert view.state == FlowState.NEW_PASSWORD


def test_a_text_and_a_call_to_the_same_number_are_one_gate(user_factory, meta):
    update_policy(methods_required=2)
    same = user_factory(auth_email="s@mail.example", mobile_phone=MOBILE, office_phone=MOBILE)
    view = _reset_flow(same.user_id, meta)
    view = begin_verification(handle=view.handle, kind=K.MOBILE_SMS, contact=MOBILE, meta=meta)
    view = submit_verification(handle=view.handle, answer=_code(MOBILE), meta=meta)
    assert [o.kind for o in view.options] == [K.EMAIL]


def test_administrators_always_need_two_gates(user_factory, meta):
    admin = user_factory(auth_email="a@mail.example", mobile_phone=MOBILE, roles=("global_admin",))
    view = _reset_flow(admin.user_id, meta)
    # Before a gate has passed, the total shown is the policy's, the same for every ID.
    assert view.gates_required == 1
    view = _pass_email(view, meta, "a@mail.example")
    assert view.state == FlowState.VERIFY and view.gate == 2 and view.gates_required == 2


def test_steps_cannot_be_skipped_or_replayed(jan, meta):
    view = _reset_flow(jan.user_id, meta)
    with pytest.raises(FlowError, match="wrong_step"):
        set_new_password(handle=view.handle, new_password=NEW, meta=meta)
    with pytest.raises(FlowError, match="code_expired"):
        submit_verification(handle=view.handle, answer="12345678", meta=meta)
    old = view.handle
    view = begin_verification(
        handle=view.handle, kind=K.EMAIL, contact="jan@mail.example", meta=meta
    )
    with pytest.raises(FlowError, match="flow_not_found"):  # every step replaces the handle
        submit_verification(handle=old, answer=_code("jan@mail.example"), meta=meta)
    code = _code("jan@mail.example")
    done = submit_verification(handle=view.handle, answer=code, meta=meta)
    with pytest.raises(FlowError, match="flow_not_found"):
        submit_verification(handle=view.handle, answer=code, meta=meta)
    assert done.state == FlowState.NEW_PASSWORD
    with pytest.raises(FlowError, match="flow_not_found"):
        get_flow(handle="made-up-handle")


def test_a_person_who_mistypes_waits_seconds_and_the_same_code_still_works(jan, meta, clock):
    """Short and growing (issue 12): no day-long block for a few typos, no lost code."""
    view = begin_verification(
        handle=_reset_flow(jan.user_id, meta).handle,
        kind=K.EMAIL,
        contact="jan@mail.example",
        meta=meta,
    )
    code = _code("jan@mail.example")
    for _ in range(2):
        with pytest.raises(FlowError, match="invalid_code") as typo:
            submit_verification(handle=view.handle, answer="00000000", meta=meta)
        assert typo.value.retry_after is None
    with pytest.raises(FlowError, match="invalid_code") as third:
        submit_verification(handle=view.handle, answer="00000000", meta=meta)
    assert third.value.retry_after == 30 and third.value.tries_left == 2
    clock.advance(seconds=10)
    # Too early: nothing is compared, not even the right code; the flow and its code stay.
    with pytest.raises(FlowError, match="paused") as early:
        submit_verification(handle=view.handle, answer=code, meta=meta)
    assert early.value.retry_after == 20
    assert not isinstance(early.value, FlowBlockedError)
    # Asking for a new code the same way meanwhile is paused too, and spends no contact check.
    with pytest.raises(FlowError, match="paused"):
        begin_verification(handle=view.handle, kind=K.EMAIL, contact="jan@mail.example", meta=meta)
    assert not count_uses(rule_suffix=".contact_checks")
    clock.advance(seconds=20)
    view = submit_verification(handle=view.handle, answer=code, meta=meta)
    assert view.state == FlowState.NEW_PASSWORD


def test_a_code_allows_five_tries_then_dies(jan, meta):
    view = begin_verification(
        handle=_reset_flow(jan.user_id, meta).handle,
        kind=K.EMAIL,
        contact="jan@mail.example",
        meta=meta,
    )
    code = _code("jan@mail.example")
    refusals = [throttles.answer_wrong(view.handle, meta) for _ in range(4)]
    assert [r.code for r in refusals] == ["invalid_code"] * 4
    # The third and the fourth pause this way a little (waited out here), and the code
    # outlives both pauses.
    assert [r.retry_after for r in refusals] == [None, None, 30, 120]
    assert [r.tries_left for r in refusals] == [4, 3, 2, 1]
    # The fifth failure in a day ends the flow and blocks this way for the user ID (§5.1,
    # per method and network kind since issue 12: attack A21).
    blocked = throttles.answer_wrong(view.handle, meta)
    assert isinstance(blocked, FlowBlockedError)
    final = blocked.view
    assert final.state == FlowState.BLOCKED and final.blocked_reason == "throttled"
    assert get_flow(handle=final.handle).state == FlowState.BLOCKED
    for handle in (view.handle, final.handle):  # the right code is worthless now
        with pytest.raises(FlowError):
            submit_verification(handle=handle, answer=code, meta=meta)
    fresh = _reset_flow(jan.user_id, meta)
    with pytest.raises(FlowError, match="method_paused"):
        begin_verification(handle=fresh.handle, kind=K.EMAIL, contact="jan@mail.example", meta=meta)
    # Another way is still open: the texted code works.
    fresh = begin_verification(handle=fresh.handle, kind=K.MOBILE_SMS, contact=MOBILE, meta=meta)
    assert fresh.challenge is not None


def test_codes_expire_after_five_minutes_and_flows_after_fifteen(jan, meta, clock):
    view = begin_verification(
        handle=_reset_flow(jan.user_id, meta).handle,
        kind=K.EMAIL,
        contact="jan@mail.example",
        meta=meta,
    )
    code = _code("jan@mail.example")
    clock.advance(minutes=5, seconds=1)
    with pytest.raises(FlowError, match="code_expired"):
        submit_verification(handle=view.handle, answer=code, meta=meta)
    view = change_method(handle=view.handle, meta=meta)
    clock.advance(minutes=10)
    with pytest.raises(FlowError, match="flow_expired"):
        begin_verification(handle=view.handle, kind=K.EMAIL, contact="jan@mail.example", meta=meta)


def test_unknown_and_ineligible_ids_walk_the_same_path_and_never_receive_anything(
    user_factory, meta
):
    user_factory("nomethods@contoso.example")
    for identifier in ("nomethods@contoso.example", "ghost@contoso.example"):
        view = _reset_flow(identifier, meta)
        assert view.state == FlowState.VERIFY and view.options
        kind = next(o.kind for o in view.options if o.needs_contact)
        with pytest.raises(FlowError, match="contact_mismatch"):
            begin_verification(handle=view.handle, kind=kind, contact="x@mail.example", meta=meta)
    assert not delivered().exists()
    # The decoy list is stable for one ID, so retrying reveals nothing.
    again = _reset_flow("ghost@contoso.example", meta)
    assert [o.kind for o in again.options] == [
        o.kind for o in _reset_flow("ghost@contoso.example", meta).options
    ]


def test_authenticator_codes_work_once(user_factory, meta, clock):
    secret = pyotp.random_base32()
    person = user_factory(auth_email="p@mail.example")
    AuthenticatorApp.objects.create(user=person, secret_sealed=seal(secret), confirmed_at=clock.now)
    update_policy(methods_required=2)
    view = _pass_email(_reset_flow(person.user_id, meta), meta, "p@mail.example")
    view = begin_verification(handle=view.handle, kind=K.APP_CODE, meta=meta)
    code = pyotp.TOTP(secret).at(clock.now.timestamp())
    view = submit_verification(handle=view.handle, answer=code, meta=meta)
    assert view.state == FlowState.NEW_PASSWORD
    # The same code in a new flow is refused: each time step is accepted once.
    past_the_send_cooldown()  # one code to one inbox a minute (A5)
    other = _pass_email(_reset_flow(person.user_id, meta), meta, "p@mail.example")
    other = begin_verification(handle=other.handle, kind=K.APP_CODE, meta=meta)
    with pytest.raises(FlowError, match="invalid_code"):
        submit_verification(handle=other.handle, answer=code, meta=meta)


def test_a_voice_gate_passes_once_the_call_is_answered_with_hash(jan, meta):
    view = begin_verification(
        handle=_reset_flow(jan.user_id, meta).handle,
        kind=K.OFFICE_VOICE,
        contact="+31 20 555 0102",
        meta=meta,
    )
    with pytest.raises(FlowError, match="call_not_answered"):
        submit_verification(handle=view.handle, answer="", meta=meta)
    call = delivered(recipient="+31205550102").first()
    token = call.plaintext_voice_token()
    assert not confirm_voice_call(token=token, digits="1", meta=meta)
    assert confirm_voice_call(token=token, digits="#", meta=meta)
    assert not confirm_voice_call(token=token, digits="#", meta=meta)  # once
    assert get_flow(handle=view.handle).challenge.call_answered
    view = submit_verification(handle=view.handle, answer="", meta=meta)
    assert view.state == FlowState.NEW_PASSWORD


def test_unlock_ends_a_lockout_without_changing_the_password(jan, meta):
    for i in range(10):
        sign_in(identifier=jan.user_id, password=f"Wrong-{i}", meta=meta)
    assert sign_in(identifier=jan.user_id, password=DEFAULT_PASSWORD, meta=meta).outcome == (
        SignInOutcome.LOCKED
    )
    view = start_flow(identifier=jan.user_id, meta=meta)
    view = choose_operation(handle=view.handle, operation=Operation.UNLOCK, meta=meta)
    view = _pass_email(view, meta)
    assert view.state == FlowState.DONE
    assert sign_in(identifier=jan.user_id, password=DEFAULT_PASSWORD, meta=meta).outcome == (
        SignInOutcome.SUCCESS
    )
    assert AuditEvent.objects.filter(activity="unlock.completed", target=jan).exists()


def test_unlock_is_offered_only_when_the_policy_allows_it(jan, meta):
    update_policy(unlock_without_reset=False)
    view = start_flow(identifier=jan.user_id, meta=meta)
    assert view.state == FlowState.VERIFY and view.operation == Operation.RESET
    with pytest.raises(FlowError, match="wrong_step"):
        choose_operation(handle=view.handle, operation=Operation.UNLOCK, meta=meta)


def test_a_rejected_password_keeps_the_flow_verified_for_four_more_tries(jan, meta):
    view = _pass_email(_reset_flow(jan.user_id, meta), meta)
    for attempt in range(1, 5):
        with pytest.raises(PasswordRejectedError) as rejected:
            set_new_password(handle=view.handle, new_password="short", meta=meta)
        assert "too_short" in {f.code for f in rejected.value.failures}
        view = rejected.value.view
        assert view.state == FlowState.NEW_PASSWORD, attempt
    with pytest.raises(PasswordRejectedError) as last:
        set_new_password(handle=view.handle, new_password="short", meta=meta)
    assert last.value.view.state == FlowState.BLOCKED
    jan.refresh_from_db()
    assert jan.check_password(DEFAULT_PASSWORD)


@pytest.mark.django_db(transaction=True)
def test_parallel_submissions_of_one_code_pass_exactly_once(user_factory, meta):
    needs_concurrent_writers()
    SsprPolicy.objects.update_or_create(pk=1, defaults={"scope": "all", "allow_email": True})
    person = user_factory(auth_email="race@mail.example")
    view = begin_verification(
        handle=_reset_flow(person.user_id, meta).handle,
        kind=K.EMAIL,
        contact="race@mail.example",
        meta=meta,
    )
    code = _code("race@mail.example")

    def submit():
        return submit_verification(handle=view.handle, answer=code, meta=meta).state

    outcomes = [getattr(o, "code", o) for o in race(*[submit] * 8)]
    assert outcomes.count(FlowState.NEW_PASSWORD) == 1, outcomes


def test_texts_over_the_per_address_budget_are_not_sent(user_factory, meta, settings):
    settings.OPENSSPR_PHONE_BUDGET_PER_IP = 2
    people = [user_factory(mobile_phone=f"+3161234567{n}") for n in range(3)]
    refused = []
    for person in people:
        view = _reset_flow(person.user_id, meta)
        try:
            begin_verification(
                handle=view.handle, kind=K.MOBILE_SMS, contact=person.mobile_phone, meta=meta
            )
        except FlowError as exc:
            refused.append(exc.code)
    assert [delivered(recipient=p.mobile_phone).count() for p in people] == [1, 1, 0]
    # Issue 12 item 10: the third person is told, honestly; nobody waits for a text.
    assert refused == ["phone_budget"]
    event = AuditEvent.objects.get(activity="reset.budget_exceeded")
    assert event.reason == "per_ip" and event.target == people[2]


def test_the_global_budget_holds_across_addresses(user_factory, meta, settings):
    from opensspr.core.request_meta import RequestMeta

    settings.OPENSSPR_PHONE_BUDGET_GLOBAL = 1
    outcomes = []
    for n, ip in enumerate(("192.0.2.1", "198.51.100.1")):
        person = user_factory(mobile_phone=f"+3161234568{n}")
        other = RequestMeta(ip, "t", f"c{n}")
        view = _reset_flow(person.user_id, other)
        try:
            begin_verification(
                handle=view.handle, kind=K.MOBILE_VOICE, contact=person.mobile_phone, meta=other
            )
            outcomes.append("called")
        except FlowError as exc:
            outcomes.append(exc.code)
    assert outcomes == ["called", "phone_budget"]
    assert delivered(kind="voice").count() == 1
    assert AuditEvent.objects.filter(activity="reset.budget_exceeded", reason="global").exists()
