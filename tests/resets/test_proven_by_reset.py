"""A successful reset through an email or phone an administrator set marks it proven."""

import re

import pytest

from opensspr.policy.kinds import MethodKind as K
from opensspr.policy.reset_selectors import get_sspr_policy
from opensspr.registration.models import RegistrationState
from opensspr.reports.registered import get_registration_summary
from opensspr.resets.flow import (
    begin_verification,
    choose_operation,
    set_new_password,
    start_flow,
    submit_verification,
)
from opensspr.resets.models import Operation
from tests.conftest import delivered, open_reset_policy

pytestmark = pytest.mark.django_db
NEW = "Lantern-Harbour-Quiet-93"
MOBILE = "+31612345678"


@pytest.fixture(autouse=True)
def _policy():
    open_reset_policy()


@pytest.fixture
def jan(user_factory):
    """Jan's email and phone were set by an administrator: usable, not proven."""
    return user_factory("jan@contoso.example", auth_email="jan@mail.example", mobile_phone=MOBILE)


def _state(user):
    return RegistrationState.objects.filter(user=user).first()


def _through_email(jan, meta, operation=Operation.RESET):
    view = start_flow(identifier=jan.user_id, meta=meta)
    view = choose_operation(handle=view.handle, operation=operation, meta=meta)
    view = begin_verification(handle=view.handle, kind=K.EMAIL, contact=jan.auth_email, meta=meta)
    body = delivered(recipient=jan.auth_email).first().plaintext_body()
    code = re.search(r"\b(\d{6,8})\b", body).group(1)
    return submit_verification(handle=view.handle, answer=code, meta=meta)


def test_a_reset_through_the_email_proves_it_and_only_it(jan, meta):
    assert _state(jan) is None or _state(jan).auth_email_proven_at is None
    view = _through_email(jan, meta)
    assert _state(jan) is None or _state(jan).auth_email_proven_at is None  # not before done
    set_new_password(handle=view.handle, new_password=NEW, meta=meta)
    state = _state(jan)
    assert state.auth_email_proven_at is not None
    assert state.mobile_phone_proven_at is None
    summary = get_registration_summary(jan, get_sspr_policy())
    email = next(m for m in summary.methods if m.kind.value == "email")
    assert email.proven


def test_an_unlock_through_the_email_proves_it_too(jan, meta):
    _through_email(jan, meta, operation=Operation.UNLOCK)
    assert _state(jan).auth_email_proven_at is not None


def test_a_second_reset_keeps_the_first_proofs_time_and_confirms_again(jan, meta, clock):
    """The person's row exists by then (one upsert either way): the proof's time stays the
    first one, the confirmation moves on, the campaign's count is untouched."""
    proven_at = clock.now
    RegistrationState.objects.create(user=jan, auth_email_proven_at=proven_at, reminders_sent=2)
    clock.advance(days=3)
    view = _through_email(jan, meta)
    set_new_password(handle=view.handle, new_password=NEW, meta=meta)
    state = _state(jan)
    assert state.auth_email_proven_at == proven_at
    assert state.confirmed_at == clock.now
    assert (state.mobile_phone_proven_at, state.reminders_sent) == (None, 2)


def test_a_value_replaced_before_the_reset_ends_is_not_proven(jan, meta):
    view = _through_email(jan, meta)
    jan.auth_email = "other@mail.example"
    jan.save(update_fields=["auth_email"])
    set_new_password(handle=view.handle, new_password=NEW, meta=meta)
    assert _state(jan) is None or _state(jan).auth_email_proven_at is None


def test_the_report_shows_the_email_proven_and_confirmed_after_the_reset(jan, meta, clock):
    """The issue's Jan: after he reset through his email, the report (page rows and CSV)
    must no longer call it unproven, nor his security info never confirmed."""
    from opensspr.reports.exports import COLUMNS, registration_csv
    from opensspr.reports.selectors import Confirmation, ReportFilters, list_registration_rows

    never = ReportFilters(confirmation=Confirmation.NEVER)
    assert jan.pk in {row.user.pk for row in list_registration_rows(never)}
    view = _through_email(jan, meta)
    set_new_password(handle=view.handle, new_password=NEW, meta=meta)

    assert jan.pk not in {row.user.pk for row in list_registration_rows(never)}
    (row,) = [r for r in list_registration_rows() if r.user.pk == jan.pk]
    assert row.info.confirmed_at == clock.now
    line = dict(zip(COLUMNS, registration_csv([row]).splitlines()[1].split(","), strict=True))
    assert line["email"] == "proven"
    assert line["mobile_phone"] == "unproven"  # set by an administrator, never used
    assert line["last_confirmed"] == clock.now.strftime("%Y-%m-%dT%H:%M:%SZ")
