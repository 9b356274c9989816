"""The reset pages' forms: field shape and plain input checks only; the engine decides.

Nothing here knows whether a user ID exists: the method form is built from the
options the engine offers, which look alike for every ID (attack A1).
"""

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from opensspr.captcha.fields import CaptchaField
from opensspr.core.forms import SecretInput
from opensspr.methods.questions import Question
from opensspr.policy.kinds import MethodKind
from opensspr.resets.flow import MethodOption
from opensspr.resets.models import Operation
from opensspr.signin.forms import PASSWORD_MAX

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as Text  # django-stubs' lazy text
else:
    Text = str

PHONE_KINDS = frozenset({MethodKind.MOBILE_SMS, MethodKind.MOBILE_VOICE, MethodKind.OFFICE_VOICE})
_CODE_SEPARATORS = re.compile(r"[\s\-]")


class StartForm(forms.Form):
    user_id = forms.CharField(
        label=_("User ID"),
        max_length=256,
        help_text=_("The name you sign in with, for example someone@example.org."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "username",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )
    captcha = CaptchaField()


class OperationForm(forms.Form):
    operation = forms.ChoiceField(
        label=_("Why are you having trouble signing in?"),
        choices=[
            (Operation.RESET.value, _("I forgot my password")),
            (Operation.UNLOCK.value, _("I know my password, but still can't sign in")),
        ],
        initial=Operation.RESET.value,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose one of the two.")},
    )


def contact_field_name(kind: MethodKind) -> str:
    return f"contact_{kind.value}"


#: Every contact field name, for ``sensitive_post_parameters``.
CONTACT_FIELDS = tuple(contact_field_name(kind) for kind in MethodKind)


def _contact_field(kind: MethodKind) -> forms.CharField:
    if kind == MethodKind.EMAIL:
        label, hint = (
            _("Your full alternate email address"),
            _("We send the code only if it matches the address registered for your account."),
        )
        attrs = {"autocomplete": "email", "inputmode": "email", "autocapitalize": "none"}
    else:
        label = (
            _("Your full office phone number")
            if kind == MethodKind.OFFICE_VOICE
            else _("Your full mobile phone number")
        )
        hint = (
            _("With the country code, for example +31 20 1234567.")
            if kind == MethodKind.OFFICE_VOICE
            else _("With the country code, for example +31 612345678.")
        )
        attrs = {"autocomplete": "tel", "inputmode": "tel"}
    return forms.CharField(
        label=label,
        help_text=hint,
        required=False,
        max_length=256,
        widget=forms.TextInput(attrs={**attrs, "spellcheck": "false"}),
    )


class MethodForm(forms.Form):
    """One radio per offered method, and a contact field for those that need one."""

    def __init__(self, *args: Any, options: Sequence[MethodOption], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = tuple(options)
        self.fields["method"] = forms.ChoiceField(
            label=_("Choose how to verify it's you"),
            choices=[(o.kind.value, o.label) for o in self.options],
            initial=self.options[0].kind.value if len(self.options) == 1 else None,
            widget=forms.RadioSelect,
            error_messages={"required": _("Choose a way to verify.")},
        )
        for option in self.options:
            if option.needs_contact:
                self.fields[contact_field_name(option.kind)] = _contact_field(option.kind)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        chosen = self.chosen_option()
        if chosen and chosen.needs_contact:
            name = contact_field_name(chosen.kind)
            if not (cleaned.get(name) or "").strip():
                self.add_error(
                    name,
                    _("Type your full email address.")
                    if chosen.kind == MethodKind.EMAIL
                    else _("Type your full phone number, with the country code."),
                )
        return cleaned

    def chosen_option(self) -> MethodOption | None:
        value = self.cleaned_data.get("method") if hasattr(self, "cleaned_data") else None
        value = value or self.data.get("method")
        return next((o for o in self.options if o.kind.value == value), None)

    def contact(self) -> str:
        chosen = self.chosen_option()
        if chosen is None or not chosen.needs_contact:
            return ""
        return str(self.cleaned_data.get(contact_field_name(chosen.kind)) or "")

    def rows(self) -> list[dict[str, Any]]:
        """What the template draws: each radio with its option and contact field."""
        radios = list(self["method"])
        rows = []
        for option, radio in zip(self.options, radios, strict=True):
            name = contact_field_name(option.kind)
            rows.append(
                {
                    "option": option,
                    "radio": radio,
                    "contact": self[name] if name in self.fields else None,
                }
            )
        return rows


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=64,
        error_messages={"required": _("Enter the code.")},
        widget=SecretInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )

    def clean_code(self) -> str:
        # People copy "123 456" or "123-456"; the digits are what counts.
        return _CODE_SEPARATORS.sub("", self.cleaned_data["code"])


class QuestionsForm(forms.Form):
    """One field per question the engine chose, labelled with the question itself."""

    def __init__(self, *args: Any, questions: Sequence[Question], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = tuple(questions)
        for number, question in enumerate(self.questions, start=1):
            self.fields[f"answer_{number}"] = forms.CharField(
                label=question.text,
                max_length=128,
                error_messages={"required": _("Answer this question.")},
                widget=SecretInput(
                    attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"}
                ),
            )
        if self.questions:
            self.fields["answer_1"].widget.attrs["autofocus"] = True

    def answers(self) -> dict[str, str]:
        return {
            q.key: self.cleaned_data[f"answer_{n}"] for n, q in enumerate(self.questions, start=1)
        }


def _new_password_field(label: "Text") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=PASSWORD_MAX,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class NewPasswordForm(forms.Form):
    new_password = _new_password_field(_("New password"))
    confirm_password = _new_password_field(_("Confirm new password"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password"].widget.attrs["autofocus"] = True

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        new, confirm = cleaned.get("new_password"), cleaned.get("confirm_password")
        if new is not None and confirm is not None and new != confirm:
            self.add_error("confirm_password", _("The two new passwords don't match."))
        return cleaned
