"""The report's filter form: GET parameters in, ``ReportFilters`` out."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from opensspr.reports.registered import DATA_LABELS, DataKind
from opensspr.reports.selectors import Confirmation, ReportFilters


def _yes_no(label: Any) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label, required=False, choices=[("", _("All")), ("yes", _("Yes")), ("no", _("No"))]
    )


def _flag(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class ReportFilterForm(forms.Form):
    q = forms.CharField(label=_("User ID or name contains"), required=False, max_length=113)
    capable = _yes_no(_("Capable of self-service reset"))
    registered = _yes_no(_("Registered enough methods"))
    enabled = _yes_no(_("Enabled by the policy"))
    method = forms.ChoiceField(
        label=_("Has registered"),
        required=False,
        choices=[("", _("Anything")), *((kind.value, DATA_LABELS[kind]) for kind in DataKind)],
    )
    unproven = _yes_no(_("Has data the person didn't prove"))
    confirmation = forms.ChoiceField(
        label=_("Last confirmation"),
        required=False,
        choices=[
            ("", _("Any")),
            (Confirmation.NEVER.value, _("Never confirmed")),
            (Confirmation.DUE.value, _("Reconfirmation due")),
        ],
    )

    def filters(self) -> ReportFilters:
        """The filters asked for; an invalid form filters nothing rather than failing."""
        if not self.is_valid():
            return ReportFilters()
        data = self.cleaned_data
        return ReportFilters(
            search=data["q"],
            enabled=_flag(data["enabled"]),
            registered=_flag(data["registered"]),
            capable=_flag(data["capable"]),
            has_method=DataKind(data["method"]) if data["method"] else None,
            unproven=_flag(data["unproven"]),
            confirmation=Confirmation(data["confirmation"]) if data["confirmation"] else None,
        )

    def active(self) -> dict[str, str]:
        """The filters in use, for the audit of an export."""
        if not self.is_valid():
            return {}
        return {name: str(value) for name, value in self.cleaned_data.items() if value}
