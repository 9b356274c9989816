"""Canary: the reset flow's password and codes reach no log, audit row or outbox metadata."""

import logging
import re
import uuid

import pytest
from django.conf import settings
from django.db import models

from opensspr.audit.models import AuditEvent
from opensspr.channels import deliver_due, list_outbox
from opensspr.channels.models import Message
from opensspr.core.logging import JsonFormatter, SafeTextFormatter
from opensspr.methods.models import SecurityAnswer
from opensspr.methods.questions import replace_answers
from opensspr.policy.kinds import MethodKind as K
from opensspr.resets.flow import (
    FlowError,
    PasswordRejectedError,
    begin_verification,
    change_method,
    choose_operation,
    set_new_password,
    start_flow,
    submit_verification,
)
from opensspr.resets.models import Challenge, Operation, ResetFlow
from tests.conftest import update_policy

pytestmark = pytest.mark.django_db


def _code(recipient):
    deliver_due()
    body = list_outbox(recipient=recipient).first().plaintext_body()
    return re.search(r"\b(\d{6,8})\b", body).group(1)


def _row_text(model: type[models.Model], skip: set[str]) -> str:
    return "\n".join(
        repr({f.name: getattr(row, f.name) for f in model._meta.fields if f.name not in skip})
        for row in model.objects.all()
    )


def test_reset_secrets_appear_in_no_log_audit_row_or_metadata(user_factory, meta, caplog):
    caplog.set_level(logging.DEBUG)
    update_policy(
        scope="all",
        methods_required=2,
        allow_email=True,
        allow_mobile_sms=True,
        unlock_without_reset=True,
        allow_security_questions=True,
    )
    person = user_factory(auth_email="canary@mail.example", mobile_phone="+31612345678")
    answers = {f"predefined:{n}": f"CANARY-ANSWER-{n}-{uuid.uuid4().hex[:6]}" for n in range(1, 6)}
    replace_answers(person, answers)
    canary_password = f"CANARY-RESET-{uuid.uuid4().hex[:10]}-Aa1!"
    view = start_flow(identifier=person.user_id, meta=meta)
    view = choose_operation(handle=view.handle, operation=Operation.RESET, meta=meta)
    view = begin_verification(
        handle=view.handle, kind=K.EMAIL, contact="canary@mail.example", meta=meta
    )
    email_code = _code("canary@mail.example")
    with pytest.raises(FlowError):
        submit_verification(handle=view.handle, answer="99999999", meta=meta)
    view = submit_verification(handle=view.handle, answer=email_code, meta=meta)
    view = begin_verification(
        handle=view.handle, kind=K.MOBILE_SMS, contact="+31612345678", meta=meta
    )
    sms_code = _code("+31612345678")
    view = change_method(handle=view.handle, meta=meta)
    view = begin_verification(handle=view.handle, kind=K.SECURITY_QUESTIONS, meta=meta)
    asked = [q.key for q in view.challenge.questions]
    wrong = {key: answers[key] + "x" for key in asked}
    with pytest.raises(FlowError):
        submit_verification(handle=view.handle, answer=wrong, meta=meta)
    view = submit_verification(
        handle=view.handle, answer={key: answers[key] for key in asked}, meta=meta
    )
    with pytest.raises(PasswordRejectedError) as rejected:
        set_new_password(handle=view.handle, new_password="short", meta=meta)
    handles = [view.handle, rejected.value.view.handle]
    set_new_password(handle=rejected.value.view.handle, new_password=canary_password, meta=meta)
    deliver_due()

    written = "\n".join(
        [JsonFormatter().format(r) for r in caplog.records]
        + [SafeTextFormatter().format(r) for r in caplog.records]
        + [_row_text(AuditEvent, set())]
        + [_row_text(Message, {"body_sealed"})]
        + [_row_text(ResetFlow, set()), _row_text(Challenge, set())]
        + [_row_text(SecurityAnswer, set())]
    )
    secrets = (canary_password, email_code, sms_code, *handles, settings.SECRET_KEY)
    for secret in (*secrets, *answers.values()):
        assert secret not in written
        assert secret.casefold() not in written.casefold()
    # Delivered code bodies are sealed at rest, never stored in clear.
    assert all(email_code not in m.body_sealed for m in Message.objects.all())
