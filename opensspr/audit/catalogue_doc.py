"""The activity table of ``docs/operators/audit.md``, rendered from the catalogue.

The doc holds the table between two marker comments; ``scripts/build_audit_catalogue.py``
rewrites it and tests/audit/test_catalogue_doc.py fails while it is stale, so the
operators' list can't drift from what the code records.
"""

from pathlib import Path

from django.utils import translation

from opensspr.audit.activities import CATEGORY_OF, Activity, Category

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "operators" / "audit.md"
START = "<!-- activity-catalogue:start (scripts/build_audit_catalogue.py) -->"
END = "<!-- activity-catalogue:end -->"


def render_table() -> str:
    """One row per activity, grouped by category in catalogue order, English labels."""
    with translation.override("en"):
        rows = ["| activity | label | category |", "| --- | --- | --- |"]
        for category in Category:
            rows += [
                f"| `{activity.value}` | {activity.label} | {category.label} |"
                for activity in Activity
                if CATEGORY_OF[activity] == category
            ]
    return "\n".join(rows)


def splice(doc: str) -> str:
    """``doc`` with the text between the markers replaced by the current table."""
    head, found, rest = doc.partition(START)
    _, found_end, tail = rest.partition(END)
    if not (found and found_end):
        raise ValueError(f"{DOC_PATH.name} lacks the activity catalogue markers")
    return f"{head}{START}\n{render_table()}\n{END}{tail}"
