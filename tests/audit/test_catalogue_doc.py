"""The operators' activity list is the catalogue, never a copy that drifts."""

from opensspr.audit.activities import Activity
from opensspr.audit.catalogue_doc import DOC_PATH, splice


def test_the_operators_activity_table_is_current():
    doc = DOC_PATH.read_text(encoding="utf-8")
    assert doc == splice(doc), (
        "docs/operators/audit.md is stale: run scripts/build_audit_catalogue.py"
    )


def test_the_operators_doc_lists_every_activity_with_its_label():
    doc = DOC_PATH.read_text(encoding="utf-8")
    for activity in Activity:
        assert f"| `{activity.value}` | {activity.label} |" in doc
