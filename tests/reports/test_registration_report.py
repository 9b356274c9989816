"""The registration report: rows, filters, CSV export, and who can open it."""

import csv
import io
from datetime import timedelta

import pytest

from opensspr.audit.models import AuditEvent
from opensspr.methods.models import SecurityAnswer
from opensspr.methods.questions import replace_answers
from opensspr.policy.eligibility import Reason
from opensspr.registration.models import RegistrationState
from opensspr.reports.exports import COLUMNS
from opensspr.reports.registered import DataKind
from opensspr.reports.selectors import Confirmation, ReportFilters, list_registration_rows
from tests.conftest import open_reset_policy, update_policy
from tests.reports.population import add_app, answer, prove

pytestmark = pytest.mark.django_db

REPORT = "/console/reports/registrations/"
MOBILE = "+31 6 12345678"


@pytest.fixture
def people(user_factory, clock):
    """Two methods required; email, mobile, app and questions allowed."""
    open_reset_policy(
        methods_required=2,
        allow_office_voice=False,
        allow_security_questions=True,
        questions_to_register=3,
        questions_to_reset=3,
        reconfirm_days=180,
    )
    proven = user_factory(
        "proven@contoso.example", auth_email="a@mail.example", mobile_phone=MOBILE
    )
    prove(proven, "auth_email", "mobile_phone")
    imported = user_factory(
        "imported@contoso.example", auth_email="b@mail.example", mobile_phone=MOBILE
    )
    app_user = user_factory("app@contoso.example", auth_email="c@mail.example")
    add_app(app_user)
    add_app(app_user, confirmed=False)  # an app that never proved itself doesn't count
    prove(app_user, confirmed=False)
    questions = user_factory("questions@contoso.example", auth_email="d@mail.example")
    answer(questions, 3)
    few = user_factory("few@contoso.example", auth_email="e@mail.example")
    answer(few, 2)
    nobody = user_factory("nobody@contoso.example")
    unlicensed = user_factory(
        "unlicensed@contoso.example",
        auth_email="f@mail.example",
        mobile_phone=MOBILE,
        sspr_licensed=False,
    )
    return {
        u.user_id.split("@")[0]: u
        for u in (proven, imported, app_user, questions, few, nobody, unlicensed)
    }


def _rows(**filters):
    return {
        r.user.user_id.split("@")[0]: r for r in list_registration_rows(ReportFilters(**filters))
    }


def test_each_row_says_what_is_registered_proven_and_usable(people, clock):
    rows = _rows()
    assert set(rows) == set(people)

    proven = rows["proven"]
    assert [(m.kind, m.proven) for m in proven.info.methods] == [
        (DataKind.EMAIL, True),
        (DataKind.MOBILE_PHONE, True),
    ]
    assert proven.capability.capable and proven.info.confirmed_at == clock.now
    assert [(m.kind, m.proven) for m in rows["imported"].info.methods] == [
        (DataKind.EMAIL, False),
        (DataKind.MOBILE_PHONE, False),
    ]
    # Data an administrator or an import set is usable without registering (§8.3).
    assert rows["imported"].capability.capable
    assert rows["imported"].info.confirmed_at is None

    app = rows["app"]
    assert app.info.kinds == {DataKind.EMAIL, DataKind.AUTHENTICATOR_APP}
    assert app.info.confirmed_apps == 1 and app.capability.capable
    assert app.info.confirmed_at is None  # a state row that was never confirmed

    assert rows["questions"].info.kinds == {DataKind.EMAIL, DataKind.SECURITY_QUESTIONS}
    assert rows["questions"].capability.capable  # questions count next to a possession method

    few = rows["few"]
    assert few.info.kinds == {DataKind.EMAIL} and few.info.answers == 2
    assert not few.capability.capable and not few.capability.registered
    assert few.capability.enabled and few.capability.reason == Reason.NOT_ENOUGH_METHODS

    nobody = rows["nobody"]
    assert nobody.info.methods == () and not nobody.capability.registered

    unlicensed = rows["unlicensed"]
    assert unlicensed.capability.registered and not unlicensed.capability.enabled
    assert unlicensed.capability.reason == Reason.NOT_LICENSED


def test_filters_narrow_the_rows(people, clock):
    assert set(_rows(capable=True)) == {"proven", "imported", "app", "questions"}
    assert set(_rows(capable=False)) == {"few", "nobody", "unlicensed"}
    assert set(_rows(registered=False)) == {"few", "nobody"}
    assert set(_rows(enabled=False)) == {"unlicensed"}
    assert set(_rows(has_method=DataKind.AUTHENTICATOR_APP)) == {"app"}
    assert set(_rows(has_method=DataKind.SECURITY_QUESTIONS)) == {"questions"}
    assert set(_rows(unproven=True)) == {"imported", "app", "questions", "few", "unlicensed"}
    assert set(_rows(unproven=False)) == {"proven", "nobody"}
    assert set(_rows(search="QUEST")) == {"questions"}
    assert set(_rows(search="nobody", capable=True)) == set()


def test_the_confirmation_filter_follows_the_reconfirmation_interval(people, clock):
    assert "proven" not in _rows(confirmation=Confirmation.NEVER)
    assert {"imported", "app"} <= set(_rows(confirmation=Confirmation.NEVER))
    assert set(_rows(confirmation=Confirmation.DUE)) == set()
    clock.advance(days=181)
    assert set(_rows(confirmation=Confirmation.DUE)) == {"proven"}
    update_policy(reconfirm_days=0)  # 0: never asked again
    assert set(_rows(confirmation=Confirmation.DUE)) == set()


def test_the_report_reads_the_policys_question_threshold(people):
    update_policy(questions_to_register=2)
    assert DataKind.SECURITY_QUESTIONS in _rows()["few"].info.kinds


# --- the console page --------------------------------------------------------------------


def _signed_in(client, user):
    client.force_login(user)  # the session /signin creates; sign-in is tested in tests/signin
    return client


def test_the_console_index_links_to_the_report(client, user_factory):
    _signed_in(client, user_factory(roles=("helpdesk_admin",)))
    page = client.get("/console/").content.decode()
    assert f'href="{REPORT}"' in page and "Registration report" in page


def test_people_without_an_administrator_role_cannot_open_it(client, user_factory):
    _signed_in(client, user_factory())
    response = client.get(REPORT)
    assert response.status_code == 302 and "/console/login/" in response["Location"]
    assert client.get(REPORT + "?export=csv").status_code == 302
    assert not AuditEvent.objects.filter(activity="report.registrations_exported").exists()


def test_the_page_lists_filtered_rows_with_totals(client, people, user_factory):
    _signed_in(client, user_factory("viewer@contoso.example", roles=("security_admin",)))
    page = client.get(REPORT, {"capable": "no"}).content.decode()
    # The three, and the viewer: an administrator without two methods (OSSPR_0015).
    assert "4 people shown" in page
    assert "few@contoso.example" in page and "unlicensed@contoso.example" in page
    assert "proven@contoso.example" not in page
    assert all(code in page for code in ("OSSPR_0014", "OSSPR_0012", "OSSPR_0015"))
    assert "a@mail.example" not in client.get(REPORT).content.decode()  # statuses, not values


def test_a_nonsense_filter_is_reported_and_filters_nothing(client, people, user_factory):
    _signed_in(client, user_factory(roles=("helpdesk_admin",)))
    page = client.get(REPORT, {"capable": "maybe"}).content.decode()
    assert "Select a valid choice" in page
    assert "8 people shown" in page  # the seven, and the viewer


def _csv(response):
    return list(csv.reader(io.StringIO(response.getvalue().decode())))


def test_the_csv_export_has_stable_columns_and_the_filtered_rows(client, people, user_factory):
    viewer = user_factory("viewer@contoso.example", roles=("helpdesk_admin",))
    _signed_in(client, viewer)
    response = client.get(REPORT, {"export": "csv", "capable": "yes"})
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="registrations-2026-11-23.csv"'
    table = _csv(response)
    assert tuple(table[0]) == COLUMNS
    rows = {r[0]: dict(zip(COLUMNS, r, strict=True)) for r in table[1:]}
    assert set(rows) == {
        "app@contoso.example",
        "imported@contoso.example",
        "proven@contoso.example",
        "questions@contoso.example",
    }
    assert rows["proven@contoso.example"] | {"display_name": ""} == {
        "user_id": "proven@contoso.example",
        "display_name": "",
        "sspr_enabled": "yes",
        "sspr_registered": "yes",
        "sspr_capable": "yes",
        "reason_code": "",
        "methods_registered": "email+mobile_phone",
        "email": "proven",
        "mobile_phone": "proven",
        "office_phone": "",
        "authenticator_app": "",
        "security_questions": "",
        "last_confirmed": "2026-11-23T09:00:00Z",
        "reset_blocked_until": "",
        "user_type": "member",
    }
    assert rows["imported@contoso.example"]["email"] == "unproven"
    assert rows["questions@contoso.example"]["security_questions"] == "proven"
    event = AuditEvent.objects.get(activity="report.registrations_exported")
    assert event.actor == viewer
    assert event.details == {"rows": 4, "filters": {"capable": "yes"}}


def test_the_csv_export_defuses_formulas_and_holds_no_secret(client, user_factory, clock):
    open_reset_policy()
    sneaky = user_factory(
        display_name='=HYPERLINK("https://evil.example")', auth_email="s@mail.example"
    )
    replace_answers(sneaky, {f"predefined:{n}": f"canary-answer-{n} lantern" for n in (1, 2, 3)})
    app = add_app(sneaky)
    _signed_in(client, user_factory(roles=("global_admin",)))
    response = client.get(REPORT, {"export": "csv", "q": sneaky.user_id})
    text = response.getvalue().decode()  # a stream: read once
    row = list(csv.reader(io.StringIO(text)))[1]
    assert row[1] == '\'=HYPERLINK("https://evil.example")'
    assert "canary-answer" not in text and app.secret_sealed not in text
    hashes = SecurityAnswer.objects.filter(user=sneaky).values_list("answer_hash", flat=True)
    assert all(h not in text for h in hashes)
    assert "s@mail.example" not in text


def test_the_report_counts_a_registration_state_without_proofs_as_unproven(user_factory, clock):
    open_reset_policy()
    person = user_factory(auth_email="p@mail.example")
    RegistrationState.objects.create(user=person, confirmed_at=clock.now - timedelta(days=1))
    [row] = list_registration_rows()
    assert [(m.kind, m.proven) for m in row.info.methods] == [(DataKind.EMAIL, False)]
    assert row.info.confirmed_at == clock.now - timedelta(days=1)
