"""One date-and-time format per language, with the time zone, everywhere (core/formats)."""

from datetime import UTC, datetime

import pytest
from django.contrib.admin.utils import display_for_field
from django.template import Context, Template
from django.test import override_settings
from django.utils import timezone, translation

from opensspr.audit.models import AuditEvent
from opensspr.core.request_meta import RequestMeta
from tests.console.test_console import _signed_in

MOMENT = datetime(2026, 12, 5, 13, 7, tzinfo=UTC)
EXPECTED = {"en": "Dec. 5, 2026, 2:07 p.m. CET", "nl": "5 december 2026 14:07 CET"}


@pytest.mark.parametrize("language", ["en", "nl"])
def test_pages_and_console_lists_render_one_format_with_the_time_zone(language):
    field = AuditEvent._meta.get_field("occurred_at")
    with translation.override(language), timezone.override("Europe/Amsterdam"):
        long = Template('{{ m|date:"DATETIME_FORMAT" }}').render(Context({"m": MOMENT}))
        short = Template('{{ m|date:"SHORT_DATETIME_FORMAT" }}').render(Context({"m": MOMENT}))
        admin = str(display_for_field(MOMENT, field, "-"))
    assert long == short == admin == EXPECTED[language]


@pytest.mark.django_db
@override_settings(TIME_ZONE="Europe/Amsterdam")
def test_the_audit_log_shows_when_with_its_time_zone(client, user_factory, clock):
    from opensspr.audit.activities import Activity
    from opensspr.audit.services import record_event

    clock.set(MOMENT)
    record_event(activity=Activity.SIGNIN_FAILED, outcome="failure", meta=RequestMeta.system())
    _signed_in(client, user_factory(roles=("global_admin",)))
    page = client.get("/console/audit/auditevent/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert EXPECTED["en"] in page
