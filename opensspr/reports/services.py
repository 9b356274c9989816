"""Writes made by reading reports: only the audit of exports.

A CSV export takes a list of the organisation's people out of the console, so
who exported what (how many rows, which filters) is recorded; nothing else
about reports changes state.
"""

from collections.abc import Mapping

from opensspr.accounts.models import User
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.core.request_meta import RequestMeta


def record_registration_export(
    *, actor: User, rows: int, filters: Mapping[str, str], meta: RequestMeta
) -> None:
    record_event(
        activity=Activity.REPORT_REGISTRATIONS_EXPORTED,
        outcome=Outcome.SUCCESS,
        meta=meta,
        actor=actor,
        details={"rows": rows, "filters": {k: v for k, v in filters.items() if v}},
    )
