"""Planted codes, a seed, answers, a password and full numbers: none reach a log or audit row.

Security bar property 9 for everything security info does. Codes and the seed
must not sit in clear in the proof rows or the session either; the new number
does sit in its proof row by design (it is the value being proven).
"""

import logging
import re
import uuid

import pyotp
import pytest
from django.contrib.sessions.models import Session

from opensspr.audit.models import AuditEvent
from opensspr.core.logging import JsonFormatter
from opensspr.registration.models import Proof
from tests.conftest import DEFAULT_PASSWORD, update_policy
from tests.registration.conftest import NEW_MOBILE, code_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_policy")]


def _rows(model) -> str:
    return "\n".join(repr(list(row.__dict__.values())) for row in model.objects.all())


def test_security_info_secrets_appear_in_no_log_or_audit_row(client, user_factory, caplog, clock):
    caplog.set_level(logging.DEBUG)
    update_policy(allow_security_questions=True, questions_to_register=3, questions_to_reset=3)
    person = user_factory(auth_email="canary@mail.example")
    client.force_login(person, backend="opensspr.signin.backends.DirectorySessionBackend")
    client.post("/security-info/verify", {"method": "email"})
    identity_code = code_for("canary@mail.example")
    client.post("/security-info/verify/code", {"code": "99999999"})
    client.post("/security-info/verify/code", {"code": identity_code})
    client.post(
        "/security-info/mobile-phone/number", {"number": NEW_MOBILE, "method": "mobile_sms"}
    )
    sms_code = code_for(NEW_MOBILE)
    client.post("/security-info/confirm", {"code": sms_code})
    client.post("/security-info/authenticator-app", {"action": "begin"})
    page = client.get("/security-info/authenticator-app").content.decode()
    seed = re.search(r'id="app-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    app_code = pyotp.TOTP(seed).at(clock.now)
    client.post("/security-info/authenticator-app", {"action": "code", "code": app_code})
    answers = [f"canary-{n}-{uuid.uuid4().hex[:8]}" for n in range(3)]
    form = {}
    for n, answer in enumerate(answers, start=1):
        form |= {f"question_{n}": f"predefined:{n}", f"answer_{n}": answer}
    assert client.post("/security-info/security-questions", form).status_code == 302

    written = "\n".join([JsonFormatter().format(r) for r in caplog.records] + [_rows(AuditEvent)])
    for secret in (identity_code, sms_code, seed, app_code, *answers, DEFAULT_PASSWORD, NEW_MOBILE):
        assert secret not in written, secret
    stored = _rows(Proof) + "\n".join(s.get_decoded().__repr__() for s in Session.objects.all())
    for secret in (identity_code, sms_code, seed, app_code, *answers):
        assert secret not in stored, secret
    assert AuditEvent.objects.filter(activity="registration.method_added").count() == 3
