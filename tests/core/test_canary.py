"""Canary test: planted passwords and secrets never reach a log line or an audit row.

Every flow of this issue runs through the real HTTP stack with canary values:
sign-in (right, wrong, unknown user), password change (rejected and accepted),
the forced change after an administrator's temporary password, the console, and a
temporary access pass issued, used and mistyped.
Then every log record (formatted by both of our formatters), every audit row,
every stored session and every syslog message forwarded to a real receiver is
searched for the canaries, the password hash and the secret key.
"""

import logging
import uuid

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session

from opensspr.audit.chain import seal_pending
from opensspr.audit.forwarding import forward_pending
from opensspr.audit.models import AuditEvent
from opensspr.core.logging import JsonFormatter, SafeTextFormatter
from tests.audit.receivers import UdpReceiver

pytestmark = pytest.mark.django_db


def _everything_written(caplog) -> str:
    lines = []
    for record in caplog.records:
        lines.append(JsonFormatter().format(record))
        lines.append(SafeTextFormatter().format(record))
    for event in AuditEvent.objects.all():
        lines.append(repr({f.name: getattr(event, f.name) for f in AuditEvent._meta.fields}))
    for session in Session.objects.all():
        lines.append(str(session.get_decoded()))
    return "\n".join(lines)


def _forwarded_to_syslog(settings) -> str:
    """Every audit event as a SIEM receives it."""
    receiver = UdpReceiver()
    settings.OPENSSPR_AUDIT_SYSLOG_URL = receiver.url
    try:
        seal_pending()
        sealed = AuditEvent.objects.filter(chain_seq__isnull=False).count()
        assert forward_pending(restart="start").forwarded == sealed > 0
        return "\n".join(datagram.decode() for datagram in receiver.receive(sealed))
    finally:
        receiver.close()


def test_no_password_hash_or_secret_in_logs_audit_or_sessions(
    client, user_factory, caplog, settings
):
    caplog.set_level(logging.DEBUG)
    canary = f"CANARY-PW-{uuid.uuid4().hex[:12]}-Aa1!"
    wrong = f"CANARY-WRONG-{uuid.uuid4().hex[:12]}-Aa1!"
    new = f"CANARY-NEW-{uuid.uuid4().hex[:12]}-Bb2!"
    user = user_factory("canary@contoso.example", password=canary)
    admin = user_factory("admin@contoso.example", password=canary, roles=("global_admin",))

    client.post("/signin", {"user_id": "canary@contoso.example", "password": wrong})
    client.post("/signin", {"user_id": "ghost@contoso.example", "password": wrong})
    client.post("/signin", {"user_id": wrong, "password": wrong})  # password typed as user ID
    client.post("/signin", {"user_id": "canary@contoso.example", "password": canary})
    client.post(
        "/password/change",
        {"current_password": canary, "new_password": "weak", "confirm_password": "weak"},
    )
    client.post(
        "/password/change",
        {"current_password": canary, "new_password": new, "confirm_password": new},
    )
    client.post("/signout")

    client.post("/signin", {"user_id": "admin@contoso.example", "password": canary})
    response = client.post(
        "/console/accounts/user/",
        {
            "action": "reset_with_temporary_password",
            "_selected_action": [user.pk],
            "post": "yes",
        },
    )
    temporary = response.context["password"]
    client.post("/signout")
    client.post("/signin", {"user_id": "canary@contoso.example", "password": temporary})
    final = f"CANARY-FINAL-{uuid.uuid4().hex[:12]}-Cc3!"
    done = client.post(
        "/signin/update-password",
        {
            "current_password": temporary,
            "new_password": final,
            "confirm_password": final,
        },
    )
    assert done.status_code == 302
    client.post("/signout")

    # A temporary access pass: issued in the console, used, then a wrong one typed.
    client.post("/signin", {"user_id": "admin@contoso.example", "password": canary})
    issued = client.post(
        f"/console/accounts/user/{user.pk}/helpdesk/access-pass/",
        {"lifetime_minutes": 60, "one_time": "on"},
    )
    access_pass = issued.context["issued"].passcode
    client.post("/signout")
    wrong_pass = f"CANARY-TAP-{uuid.uuid4().hex[:12]}"
    for typed in (access_pass, wrong_pass):
        client.post("/signin/access-pass", {"user_id": "canary@contoso.example", "passcode": typed})
        client.post("/signout")
    assert AuditEvent.objects.filter(activity="access_pass.used").count() == 1
    assert AuditEvent.objects.filter(activity="access_pass.refused").count() == 1

    user.refresh_from_db()
    admin.refresh_from_db()
    written = _everything_written(caplog) + _forwarded_to_syslog(settings)
    assert AuditEvent.objects.count() >= 10
    for secret in (
        canary,
        wrong,
        new,
        temporary,
        final,
        access_pass,
        wrong_pass,
        user.password,
        admin.password,
        django_settings.SECRET_KEY,
    ):
        assert secret not in written
