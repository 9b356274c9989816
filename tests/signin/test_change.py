"""Changing a known password: policy, current password, lockout, audit."""

import pytest

from opensspr.audit.models import AuditEvent
from opensspr.signin.change import ChangeOutcome, change_password
from opensspr.signin.services import SignInOutcome, sign_in
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db
NEW = "Quiet-Meadow-Lantern-58"


def test_change_sets_the_new_password_and_audits(user_factory, clock, meta):
    user = user_factory()
    result = change_password(
        user=user, current_password=DEFAULT_PASSWORD, new_password=NEW, meta=meta
    )
    assert result.outcome == ChangeOutcome.CHANGED
    user.refresh_from_db()
    assert user.check_password(NEW) and user.password_last_set == clock.now
    assert sign_in(identifier=user.user_id, password=NEW, meta=meta).outcome == (
        SignInOutcome.SUCCESS
    )
    event = AuditEvent.objects.get(activity="password.changed")
    assert event.outcome == "success" and event.target == user


def test_wrong_current_password_is_refused_and_counts_toward_lockout(user_factory, clock, meta):
    user = user_factory()
    outcomes = [
        change_password(
            user=user, current_password=f"Not-It-{i}", new_password=NEW, meta=meta
        ).outcome
        for i in range(10)
    ]
    assert outcomes[:9] == [ChangeOutcome.WRONG_CURRENT] * 9
    assert outcomes[9] == ChangeOutcome.LOCKED
    assert sign_in(identifier=user.user_id, password=DEFAULT_PASSWORD, meta=meta).outcome == (
        SignInOutcome.LOCKED
    )
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_new_password_equal_to_current_is_refused(user_factory, meta):
    user = user_factory()
    result = change_password(
        user=user, current_password=DEFAULT_PASSWORD, new_password=DEFAULT_PASSWORD, meta=meta
    )
    assert result.outcome == ChangeOutcome.POLICY_REJECTED
    assert "same_as_current" in {f.code for f in result.failures}


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Sh0rt!", "too_short"),
        ("alllowercaseletters", "too_simple"),
        ("Pässwörd-Straße-12", "disallowed_character"),
        ("Passw0r", "too_short"),
    ],
)
def test_policy_rejections_name_the_failed_rule(user_factory, meta, password, code):
    user = user_factory()
    result = change_password(
        user=user, current_password=DEFAULT_PASSWORD, new_password=password, meta=meta
    )
    assert result.outcome == ChangeOutcome.POLICY_REJECTED
    assert code in {f.code for f in result.failures}
    assert all(str(f.message) for f in result.failures)
    event = AuditEvent.objects.get(activity="password.change_failed")
    assert event.reason == result.failures[0].code
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_user_names_and_organisation_name_are_banned_terms(user_factory, meta):
    user = user_factory(given_name="Wilhelmina", surname="Poll")
    for weak in ("Wilhelmina2026!", "p0LL23fb", "Contoso-2026!"):
        result = change_password(
            user=user, current_password=DEFAULT_PASSWORD, new_password=weak, meta=meta
        )
        assert result.outcome == ChangeOutcome.POLICY_REJECTED, weak
