"""Attack A21: someone who knows only a user ID tries to keep its owner out of reset.

The attacker runs every cheap move the reset flow has (wrong numbers and addresses, "contact
your administrator", opening the authenticator gate, wrong authenticator codes) from many
flows and addresses. The bounds (docs/operators/abuse-controls.md): nothing they do blocks
the person on a network where they sign in; from elsewhere only wrong codes count, at most
five a day, and at most ten guesses a day are ever evaluated for one user ID.
"""

import contextlib
import re
from dataclasses import replace
from datetime import timedelta

import pyotp
import pytest

from opensspr.accounts.identifiers import identifier_key
from opensspr.audit.models import AuditEvent
from opensspr.core.crypto import seal, unseal
from opensspr.core.request_meta import RequestMeta
from opensspr.methods.models import AuthenticatorApp
from opensspr.policy.kinds import MethodKind as K
from opensspr.resets.flow import (
    FlowBlockedError,
    FlowError,
    begin_verification,
    set_new_password,
    start_flow,
    submit_verification,
)
from opensspr.resets.helpdesk import request_admin_help
from opensspr.resets.models import FlowState
from opensspr.signin import devices
from opensspr.signin.services import SignInOutcome, sign_in
from opensspr.throttles import rules, service
from opensspr.throttles.subjects import failure_subject, typed_user_id
from tests.conftest import DEFAULT_PASSWORD, delivered, open_reset_policy
from tests.resets import throttling as throttles
from tests.throttles.stored import count_uses

pytestmark = pytest.mark.django_db
HOME = RequestMeta("192.0.2.10", "victim", "victim")


def _attacker(n: int) -> RequestMeta:
    return RequestMeta(f"203.0.{n // 250}.{n % 250 + 1}", "attacker", f"attack-{n}")


@pytest.fixture
def victim(user_factory, clock):
    open_reset_policy(unlock_without_reset=False)
    person = user_factory(
        "jan@contoso.example", auth_email="jan@mail.example", mobile_phone="+31612345678"
    )
    AuthenticatorApp.objects.create(
        user=person, secret_sealed=seal(pyotp.random_base32()), confirmed_at=clock.now
    )
    # Jan signed in from home once: that network is familiar from now on.
    assert sign_in(identifier=person.user_id, password=DEFAULT_PASSWORD, meta=HOME).outcome == (
        SignInOutcome.SUCCESS
    )
    return person


def _attack(user_id: str, rounds: int) -> None:
    for n in range(rounds):
        meta = _attacker(n)
        try:
            view = start_flow(identifier=user_id, meta=meta)
            for typed in ("+31 6 00000000", "someone@evil.example", "+31 6 11111111"):
                kind = K.EMAIL if "@" in typed else K.MOBILE_SMS
                with contextlib.suppress(FlowError):
                    begin_verification(handle=view.handle, kind=kind, contact=typed, meta=meta)
            request_admin_help(handle=view.handle, meta=meta)
            view = start_flow(identifier=user_id, meta=meta)
            view = begin_verification(handle=view.handle, kind=K.APP_CODE, meta=meta)
            submit_verification(handle=view.handle, answer="000000", meta=meta)
        except FlowError:  # refused or blocked: the attacker just goes on
            continue


def _reset_from(meta: RequestMeta, user_id: str) -> FlowState:
    view = start_flow(identifier=user_id, meta=meta)
    view = begin_verification(
        handle=view.handle, kind=K.EMAIL, contact="jan@mail.example", meta=meta
    )
    body = delivered(recipient="jan@mail.example").order_by("-id").first().plaintext_body()
    code = re.search(r"\b(\d{6,8})\b", body).group(1)
    view = submit_verification(handle=view.handle, answer=code, meta=meta)
    return set_new_password(handle=view.handle, new_password="Lantern-Harbour-93", meta=meta).state


def test_an_attacker_with_only_the_user_id_cant_keep_the_person_out_at_home(victim, clock):
    _attack(victim.user_id, rounds=30)
    evaluated = AuditEvent.objects.filter(
        target=victim, activity="reset.gate_failed", reason="wrong_answer"
    ).count()
    assert evaluated <= 5  # guesses from elsewhere: five a day at most
    assert _reset_from(HOME, victim.user_id) == FlowState.DONE


def test_wrong_addresses_and_help_requests_block_nobody_anywhere(victim, clock):
    for n in range(30):
        meta = _attacker(n)
        view = start_flow(identifier=victim.user_id, meta=meta)
        for typed in ("+31 6 00000000", "+31 6 22222222", "someone@evil.example"):
            kind = K.EMAIL if "@" in typed else K.MOBILE_SMS
            with pytest.raises(FlowError):
                begin_verification(handle=view.handle, kind=kind, contact=typed, meta=meta)
        request_admin_help(handle=view.handle, meta=meta)
    # Even from an address Jan never used, the reset goes through.
    assert _reset_from(_attacker(999), victim.user_id) == FlowState.DONE


def test_a_fourth_wrong_address_in_one_flow_ends_only_that_flow(victim):
    meta = _attacker(1)
    view = start_flow(identifier=victim.user_id, meta=meta)
    for typed in ("a@evil.example", "b@evil.example", "c@evil.example"):
        with pytest.raises(FlowError, match="contact_mismatch"):
            begin_verification(handle=view.handle, kind=K.EMAIL, contact=typed, meta=meta)
    with pytest.raises(FlowBlockedError) as ended:
        begin_verification(handle=view.handle, kind=K.EMAIL, contact="d@evil.example", meta=meta)
    assert ended.value.view.blocked_reason == "too_many_contact_checks"
    assert _reset_from(meta, victim.user_id) == FlowState.DONE


def test_guesses_stay_bounded_at_ten_a_day_whatever_the_flows_and_addresses(victim, clock):
    """Five from elsewhere, five from a familiar network: never more evaluated in 24 h, even
    by a guesser who waits out every short pause."""
    start = clock.now
    for meta in [_attacker(n) for n in range(12)] + [HOME] * 12:
        try:
            view = start_flow(identifier=victim.user_id, meta=meta)
            view = begin_verification(handle=view.handle, kind=K.APP_CODE, meta=meta)
            submit_verification(handle=view.handle, answer="000000", meta=meta)
        except FlowError as exc:
            throttles.wait_out(exc.retry_after)
            continue
    assert clock.now - start < timedelta(hours=1)  # the pauses cost the guesser minutes
    evaluated = AuditEvent.objects.filter(
        target=victim, activity="reset.gate_failed", reason="wrong_answer"
    ).count()
    assert evaluated == 10


def _guess_app_codes_waiting_out_pauses(user_id: str, count: int) -> None:
    """The patient attacker: wrong authenticator codes from new addresses, every pause
    waited out, until ``count`` were compared or the way is blocked."""
    for n in range(count * 3):
        meta = _attacker(100 + n)
        try:
            view = start_flow(identifier=user_id, meta=meta)
            view = begin_verification(handle=view.handle, kind=K.APP_CODE, meta=meta)
            submit_verification(handle=view.handle, answer="000000", meta=meta)
        except FlowError as exc:
            throttles.wait_out(exc.retry_after)
            if exc.code == "method_paused":
                return


def test_on_the_road_the_person_passes_on_their_own_device(victim, clock):
    """Away from every familiar network, the browser they signed in on still lets them
    through, while the app stays blocked for everyone else there (issue 12: §5.4's idea)."""
    laptop = devices.remember("", victim.user_id_key)  # what their last sign-in left there
    started = clock.now
    _guess_app_codes_waiting_out_pauses(victim.user_id, 5)
    road = RequestMeta("198.51.100.50", "laptop", "hotel")  # never seen before
    view = start_flow(identifier=victim.user_id, meta=road)
    with pytest.raises(FlowError, match="method_paused"):
        begin_verification(handle=view.handle, kind=K.APP_CODE, meta=road)
    own = replace(road, device=laptop)
    view = start_flow(identifier=victim.user_id, meta=own)
    view = begin_verification(handle=view.handle, kind=K.APP_CODE, meta=own)
    secret = unseal(AuthenticatorApp.objects.get(user=victim).secret_sealed)
    view = submit_verification(
        handle=view.handle, answer=pyotp.TOTP(secret).at(clock.now), meta=own
    )
    assert view.state == FlowState.NEW_PASSWORD
    # The documented bound for everyone else: blocked until the first guess is a day old.
    clock.set(started + timedelta(hours=24, minutes=5))
    view = start_flow(identifier=victim.user_id, meta=road)
    assert begin_verification(handle=view.handle, kind=K.APP_CODE, meta=road).challenge


def _failures(user_id: str, *, familiar: bool) -> int:
    """Wrong app codes counted for ``user_id`` from a familiar network or from elsewhere."""
    subject = failure_subject(
        typed_user_id(identifier_key(user_id)), familiar=familiar, method="app_code"
    )
    rule = rules.SSPR_VERIFY_FAILURE
    key = service.digest(rule.scope, subject)
    return count_uses(scope=rule.scope, key=key, rule=rule.name)


@pytest.mark.parametrize(("answered_from", "counted"), [("away", (1, 0)), ("home", (0, 1))])
def test_a_wrong_answer_counts_by_the_network_it_came_from_not_the_start(
    victim, clock, answered_from, counted
):
    """The start asks whether its network is familiar and the flow keeps the answer; a step
    from another network asks again, so a flow opened at home lends its trust to nobody.
    ``counted``: the failures from elsewhere and from a familiar network."""
    view = start_flow(identifier=victim.user_id, meta=HOME)
    meta = HOME if answered_from == "home" else _attacker(1)
    view = begin_verification(handle=view.handle, kind=K.APP_CODE, meta=meta)
    throttles.answer_wrong(view.handle, meta, answer="000000")
    assert (
        _failures(victim.user_id, familiar=False),
        _failures(victim.user_id, familiar=True),
    ) == counted
