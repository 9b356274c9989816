"""Cells a spreadsheet would run as a formula, defused (OWASP "CSV injection").

Any export that a person may open in a spreadsheet writes its text cells through
``spreadsheet_safe``: a value such as ``=HYPERLINK(...)`` typed into a display
name, a reason or a user agent gets a leading apostrophe and stays text.
"""

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value
