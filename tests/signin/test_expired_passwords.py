"""Temporary passwords expire; a forced change of an expired password completes the sign-in."""

from datetime import timedelta

import pytest

from opensspr.audit.models import AuditEvent
from opensspr.resets.admin_reset import issue_temporary_password
from opensspr.signin.services import SignInOutcome, sign_in
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def test_temporary_password_expires_after_72_hours(user_factory, clock, meta):
    admin = user_factory(roles=("global_admin",))
    user = user_factory()
    temporary = issue_temporary_password(actor=admin, user=user, meta=meta)
    clock.advance(hours=71)
    assert sign_in(identifier=user.user_id, password=temporary, meta=meta).outcome == (
        SignInOutcome.CHANGE_REQUIRED
    )
    clock.advance(hours=2)
    assert sign_in(identifier=user.user_id, password=temporary, meta=meta).outcome == (
        SignInOutcome.INVALID
    )
    assert AuditEvent.objects.filter(reason="temporary_password_expired").count() == 1


def test_forced_change_completes_an_audited_sign_in(client, user_factory, clock):
    user = user_factory()
    user.password_last_set = clock.now - timedelta(days=100)
    user.save()
    client.post("/signin", {"user_id": user.user_id, "password": DEFAULT_PASSWORD})
    new = "Harbour-Evening-Tide-55"
    response = client.post(
        "/signin/update-password",
        {
            "current_password": DEFAULT_PASSWORD,
            "new_password": new,
            "confirm_password": new,
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.last_login == clock.now
    activities = list(
        AuditEvent.objects.filter(target=user).order_by("id").values_list("activity", "reason")
    )
    assert activities[-2:] == [
        ("password.changed_forced", "password_expired"),
        ("signin.succeeded", "after_password_change"),
    ]
