"""Form pieces every person-facing page shares: focus after an error, secrets never redrawn."""

from typing import Any

from django import forms


class SecretInput(forms.TextInput):
    """A code or an answer is never drawn back into the page: a wrong one is typed afresh."""

    def format_value(self, value: Any) -> None:
        return None


def focus_first_error(form: forms.Form) -> None:
    """Put the cursor in the first field that has an error (and nowhere else)."""
    invalid = next((name for name in form.fields if name in form.errors), None)
    if invalid is None:
        return
    for name, field in form.fields.items():
        field.widget.attrs.pop("autofocus", None)
        if name == invalid and not isinstance(field.widget, forms.RadioSelect):
            field.widget.attrs["autofocus"] = True
