"""Sign-in outcomes, expiry and the admin's temporary password."""

from datetime import timedelta

import pytest

from opensspr.audit.models import AuditEvent
from opensspr.policy.models import PasswordSettings
from opensspr.resets.admin_reset import issue_temporary_password
from opensspr.signin.services import ChangeReason, SignInOutcome, sign_in
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def test_user_id_is_case_insensitive_and_unicode_normalised(user_factory, meta):
    user_factory("Jan.Jansen@Contoso.example")
    for typed in (
        "jan.jansen@contoso.example",
        "JAN.JANSEN@CONTOSO.EXAMPLE",
        "ｊａｎ.jansen@contoso.example",
        "  jan.jansen@contoso.example ",
    ):
        assert sign_in(identifier=typed, password=DEFAULT_PASSWORD, meta=meta).outcome == (
            SignInOutcome.SUCCESS
        ), typed


def test_look_alike_user_ids_do_not_match(user_factory, meta):
    user_factory("mike@contoso.example")
    for typed in ("mıke@contoso.example", "MİKE@contoso.example", "mike\u200b@contoso.example"):
        assert sign_in(identifier=typed, password=DEFAULT_PASSWORD, meta=meta).outcome == (
            SignInOutcome.INVALID
        ), typed


def test_disabled_account_is_only_revealed_with_the_right_password(user_factory, meta):
    user = user_factory(account_enabled=False)
    assert sign_in(identifier=user.user_id, password="Wrong-Pass-1", meta=meta).outcome == (
        SignInOutcome.INVALID
    )
    assert sign_in(identifier=user.user_id, password=DEFAULT_PASSWORD, meta=meta).outcome == (
        SignInOutcome.DISABLED
    )


def test_expired_password_demands_a_change(user_factory, clock, meta):
    user = user_factory()
    user.password_last_set = clock.now - timedelta(days=90)
    user.save()
    result = sign_in(identifier=user.user_id, password=DEFAULT_PASSWORD, meta=meta)
    assert result.outcome == SignInOutcome.CHANGE_REQUIRED
    assert result.change_reason == ChangeReason.EXPIRED


def test_password_one_day_before_expiry_still_signs_in(user_factory, clock, meta):
    user = user_factory()
    user.password_last_set = clock.now - timedelta(days=89)
    user.save()
    assert sign_in(identifier=user.user_id, password=DEFAULT_PASSWORD, meta=meta).outcome == (
        SignInOutcome.SUCCESS
    )


def test_never_expires_per_user_and_per_organisation(user_factory, clock, meta):
    old = clock.now - timedelta(days=400)
    flagged = user_factory(password_never_expires=True)
    plain = user_factory()
    for u in (flagged, plain):
        u.password_last_set = old
        u.save()
    assert sign_in(identifier=flagged.user_id, password=DEFAULT_PASSWORD, meta=meta).outcome == (
        SignInOutcome.SUCCESS
    )
    assert sign_in(identifier=plain.user_id, password=DEFAULT_PASSWORD, meta=meta).outcome == (
        SignInOutcome.CHANGE_REQUIRED
    )
    PasswordSettings.objects.update_or_create(pk=1, defaults={"passwords_expire": False})
    assert sign_in(identifier=plain.user_id, password=DEFAULT_PASSWORD, meta=meta).outcome == (
        SignInOutcome.SUCCESS
    )


def test_custom_expiry_days_apply(user_factory, clock, meta):
    PasswordSettings.objects.update_or_create(pk=1, defaults={"expiry_days": 30})
    user = user_factory()
    user.password_last_set = clock.now - timedelta(days=31)
    user.save()
    assert sign_in(identifier=user.user_id, password=DEFAULT_PASSWORD, meta=meta).outcome == (
        SignInOutcome.CHANGE_REQUIRED
    )


def test_temporary_password_forces_a_change(user_factory, meta):
    admin = user_factory(roles=("helpdesk_admin",))
    user = user_factory()
    temporary = issue_temporary_password(actor=admin, user=user, meta=meta)
    assert sign_in(identifier=user.user_id, password=DEFAULT_PASSWORD, meta=meta).outcome == (
        SignInOutcome.INVALID
    )
    result = sign_in(identifier=user.user_id, password=temporary, meta=meta)
    assert result.outcome == SignInOutcome.CHANGE_REQUIRED
    assert result.change_reason == ChangeReason.ADMIN_RESET
    event = AuditEvent.objects.get(activity="password.reset_by_admin")
    assert event.actor == admin and event.target == user
    assert temporary not in str(event.details)


def test_every_attempt_is_audited_with_request_facts(user_factory, meta):
    user = user_factory()
    sign_in(identifier=user.user_id, password=DEFAULT_PASSWORD, meta=meta)
    sign_in(identifier=user.user_id, password="Wrong-Pass-1", meta=meta)
    sign_in(identifier="ghost@contoso.example", password="Wrong-Pass-1", meta=meta)
    ok, bad, ghost = AuditEvent.objects.filter(activity__startswith="signin.").order_by("id")
    assert (ok.activity, ok.outcome, ok.target) == ("signin.succeeded", "success", user)
    assert (bad.activity, bad.reason) == ("signin.failed", "invalid_credentials")
    assert ghost.target is None and ghost.target_label.startswith("unknown:")
    assert "ghost" not in ghost.target_label
    assert ok.ip_address == "192.0.2.10" and ok.correlation_id == "test-correlation"


def test_after_a_failed_sign_in_the_cursor_waits_in_the_password_field(client, user_factory):
    user = user_factory()
    html = client.post("/signin", {"user_id": user.user_id, "password": "nope"}).content.decode()

    def input_tag(name: str) -> str:
        return html.split(f'name="{name}"')[1].split(">")[0]

    assert "autofocus" in input_tag("password")
    assert "autofocus" not in input_tag("user_id")


def test_a_locked_out_person_is_shown_the_way_to_unlock_it_with_their_user_id_carried(
    client, user_factory, clock
):
    """Self-service unlock is what takes the helpdesk call away: the page points at it, and
    "Can't access your account?" opens the reset with the user ID already typed."""
    user_factory("jan.jansen@contoso.example")
    for n in range(10):  # ten distinct wrong passwords lock the account
        page = client.post(
            "/signin", {"user_id": "jan.jansen@contoso.example", "password": f"wrong-{n}"}
        ).content.decode()
    assert "temporarily locked" in page
    assert "To unlock it now, choose “Can&#x27;t access your account?” below" in page
    assert 'href="/reset?username=jan.jansen%40contoso.example" id="cant-access"' in page
    assert 'href="/reset" id="cant-access"' in client.get("/signin").content.decode()


def test_signing_out_says_so(client, user_factory):
    user = user_factory()
    client.post("/signin", {"user_id": user.user_id, "password": DEFAULT_PASSWORD})
    response = client.post("/signout", follow=True)
    assert "You have signed out." in response.content.decode()
    assert client.get("/").status_code == 302


def test_a_forced_change_can_be_cancelled(client, user_factory, clock):
    user = user_factory()
    user.password_last_set = clock.now - timedelta(days=120)
    user.save()
    client.post("/signin", {"user_id": user.user_id, "password": DEFAULT_PASSWORD})
    assert client.get("/signin/update-password").status_code == 200
    client.post("/signout")
    assert client.get("/signin/update-password")["Location"] == "/signin"
