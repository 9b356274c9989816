"""Temporary access passes: limits, one per person, use, expiry, revocation, throttling."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from opensspr.audit.models import AuditEvent
from opensspr.registration.access_passes import (
    ALPHABET,
    PassOutcome,
    PassState,
    get_access_pass,
    issue_access_pass,
    revoke_access_pass,
    sign_in_with_access_pass,
)
from opensspr.registration.models import AccessPass, AccessPassPolicy
from opensspr.signin import lockout
from tests.concurrency import needs_concurrent_writers, race

pytestmark = pytest.mark.django_db


@pytest.fixture
def helpdesk(user_factory):
    return user_factory(roles=("helpdesk_admin",))


@pytest.fixture
def person(user_factory):
    return user_factory()


def _issue(helpdesk, person, meta, minutes=60, one_time=True):
    return issue_access_pass(
        actor=helpdesk, user=person, lifetime_minutes=minutes, one_time=one_time, meta=meta
    )


def test_a_pass_is_stored_only_as_a_digest_and_never_audited(helpdesk, person, meta, clock):
    issued = _issue(helpdesk, person, meta)
    assert len(issued.passcode) == 16 and set(issued.passcode) <= set(ALPHABET)
    row = AccessPass.objects.get(user=person)
    assert issued.passcode not in row.digest
    assert issued.expires_at == clock.now + timedelta(hours=1)
    for event in AuditEvent.objects.all():
        assert issued.passcode not in str(event.details)
    event = AuditEvent.objects.get(activity="access_pass.issued")
    assert event.actor == helpdesk and event.target == person
    assert event.details == {"lifetime_minutes": 60, "one_time": True, "replaced": False}


@pytest.mark.parametrize("minutes", [9, 30 * 24 * 60 + 1])
def test_lifetimes_outside_ten_minutes_to_thirty_days_are_refused(helpdesk, person, meta, minutes):
    AccessPassPolicy.objects.update_or_create(pk=1, defaults={"max_lifetime_minutes": 30 * 24 * 60})
    with pytest.raises(ValidationError):
        _issue(helpdesk, person, meta, minutes=minutes)
    assert not AccessPass.objects.exists()


def test_the_policy_maximum_caps_the_lifetime(helpdesk, person, meta):
    AccessPassPolicy.objects.update_or_create(pk=1, defaults={"max_lifetime_minutes": 120})
    _issue(helpdesk, person, meta, minutes=120)
    with pytest.raises(ValidationError):
        _issue(helpdesk, person, meta, minutes=121)
    AccessPassPolicy.objects.filter(pk=1).update(max_lifetime_minutes=30 * 24 * 60)
    assert _issue(helpdesk, person, meta, minutes=30 * 24 * 60).passcode


@pytest.mark.parametrize("length", [8, 48])
def test_the_length_follows_the_policy(helpdesk, person, meta, length):
    AccessPassPolicy.objects.update_or_create(pk=1, defaults={"length": length})
    assert len(_issue(helpdesk, person, meta).passcode) == length


@pytest.mark.parametrize("length", [7, 49])
def test_the_policy_refuses_lengths_outside_8_to_48(length):
    with pytest.raises(ValidationError):
        AccessPassPolicy(length=length).full_clean()


def test_a_new_pass_replaces_the_old_one(helpdesk, person, meta):
    first = _issue(helpdesk, person, meta)
    second = _issue(helpdesk, person, meta)
    assert AccessPass.objects.filter(user=person).count() == 1
    old = sign_in_with_access_pass(identifier=person.user_id, passcode=first.passcode, meta=meta)
    assert old.outcome == PassOutcome.INVALID
    new = sign_in_with_access_pass(identifier=person.user_id, passcode=second.passcode, meta=meta)
    assert new.outcome == PassOutcome.SUCCESS and new.user == person
    assert (
        AuditEvent.objects.filter(activity="access_pass.issued")
        .order_by("pk")
        .last()
        .details["replaced"]
    )


def test_a_one_time_pass_opens_once(helpdesk, person, meta):
    issued = _issue(helpdesk, person, meta, one_time=True)
    first = sign_in_with_access_pass(identifier=person.user_id, passcode=issued.passcode, meta=meta)
    again = sign_in_with_access_pass(identifier=person.user_id, passcode=issued.passcode, meta=meta)
    assert first.outcome == PassOutcome.SUCCESS
    assert again.outcome == PassOutcome.INVALID
    assert AuditEvent.objects.filter(activity="access_pass.refused").get().reason == "used"
    assert get_access_pass(person)[1] == PassState.USED


def test_a_multi_use_pass_opens_until_it_expires(helpdesk, person, meta, clock):
    issued = _issue(helpdesk, person, meta, minutes=30, one_time=False)
    for _ in range(3):
        result = sign_in_with_access_pass(
            identifier=person.user_id, passcode=issued.passcode, meta=meta
        )
        assert result.outcome == PassOutcome.SUCCESS
        assert result.until == issued.expires_at  # the session ends with the pass
    clock.advance(minutes=30)
    late = sign_in_with_access_pass(identifier=person.user_id, passcode=issued.passcode, meta=meta)
    assert late.outcome == PassOutcome.INVALID
    refused = AuditEvent.objects.get(activity="access_pass.refused")
    assert refused.reason == "expired" and refused.target == person
    assert AccessPass.objects.get(user=person).uses == 3


def test_an_expired_pass_is_refused_a_minute_after_its_end(helpdesk, person, meta, clock):
    issued = _issue(helpdesk, person, meta, minutes=10)
    clock.advance(minutes=9, seconds=59)
    assert get_access_pass(person)[1] == PassState.ACTIVE
    clock.advance(seconds=1)
    result = sign_in_with_access_pass(
        identifier=person.user_id, passcode=issued.passcode, meta=meta
    )
    assert result.outcome == PassOutcome.INVALID


def test_a_revoked_pass_is_refused(helpdesk, person, meta):
    issued = _issue(helpdesk, person, meta, one_time=False)
    assert revoke_access_pass(actor=helpdesk, user=person, meta=meta)
    assert not revoke_access_pass(actor=helpdesk, user=person, meta=meta)  # nothing left
    result = sign_in_with_access_pass(
        identifier=person.user_id, passcode=issued.passcode, meta=meta
    )
    assert result.outcome == PassOutcome.INVALID
    assert AuditEvent.objects.filter(activity="access_pass.revoked").count() == 1
    assert AuditEvent.objects.get(activity="access_pass.refused").reason == "revoked"


def test_a_pass_opens_only_its_owners_account(helpdesk, person, user_factory, meta):
    other = user_factory()
    issued = _issue(helpdesk, person, meta)
    result = sign_in_with_access_pass(identifier=other.user_id, passcode=issued.passcode, meta=meta)
    assert result.outcome == PassOutcome.INVALID


def test_unknown_ids_and_wrong_passes_are_told_alike(helpdesk, person, meta):
    _issue(helpdesk, person, meta)
    unknown = sign_in_with_access_pass(identifier="nobody@x.example", passcode="x" * 16, meta=meta)
    wrong = sign_in_with_access_pass(identifier=person.user_id, passcode="x" * 16, meta=meta)
    assert unknown == wrong  # same outcome, no user, no session
    reasons = set(
        AuditEvent.objects.filter(activity="access_pass.refused").values_list("reason", flat=True)
    )
    assert reasons == {"unknown_user", "wrong"}


def test_wrong_passes_count_toward_smart_lockout(helpdesk, person, meta):
    issued = _issue(helpdesk, person, meta)
    for n in range(10):
        sign_in_with_access_pass(
            identifier=person.user_id, passcode=f"guess-{n:02d}-xxxxxx", meta=meta
        )
    locked = sign_in_with_access_pass(
        identifier=person.user_id, passcode=issued.passcode, meta=meta
    )
    assert locked.outcome == PassOutcome.LOCKED  # even the right pass waits for the lock
    key = lockout.lockout_key(person.user_id_key)
    assert lockout.get_lock_state(key).locked_until is not None
    assert AccessPass.objects.get(user=person).uses == 0


def test_the_right_pass_counts_no_failure(helpdesk, person, meta):
    issued = _issue(helpdesk, person, meta, one_time=False)
    for _ in range(12):
        result = sign_in_with_access_pass(
            identifier=person.user_id, passcode=issued.passcode, meta=meta
        )
        assert result.outcome == PassOutcome.SUCCESS


def test_a_disabled_account_is_refused_with_a_right_pass(helpdesk, person, meta):
    issued = _issue(helpdesk, person, meta)
    person.account_enabled = False
    person.save()
    result = sign_in_with_access_pass(
        identifier=person.user_id, passcode=issued.passcode, meta=meta
    )
    assert result.outcome == PassOutcome.INVALID


def test_only_a_role_that_reaches_the_person_issues_or_revokes(user_factory, meta):
    helpdesk = user_factory(roles=("helpdesk_admin",))
    global_admin = user_factory(roles=("global_admin",))
    with pytest.raises(PermissionDenied):
        _issue(helpdesk, global_admin, meta)
    with pytest.raises(PermissionDenied):
        _issue(helpdesk, helpdesk, meta)  # never to oneself
    _issue(global_admin, helpdesk, meta)
    with pytest.raises(PermissionDenied):
        revoke_access_pass(actor=user_factory(roles=("password_admin",)), user=helpdesk, meta=meta)
    assert AccessPass.objects.filter(user=helpdesk, revoked_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_a_one_time_pass_used_in_parallel_opens_exactly_once(user_factory, meta):
    needs_concurrent_writers()
    helpdesk, person = user_factory(roles=("helpdesk_admin",)), user_factory()
    issued = _issue(helpdesk, person, meta, one_time=True)

    def use():
        return sign_in_with_access_pass(
            identifier=person.user_id, passcode=issued.passcode, meta=meta
        ).outcome

    outcomes = race(*[use] * 6)
    assert outcomes.count(PassOutcome.SUCCESS) == 1, outcomes
    assert AccessPass.objects.get(user=person).uses == 1
