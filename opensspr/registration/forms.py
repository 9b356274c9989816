"""Security-info forms: field shape and plain input checks only; the services decide."""

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from opensspr.core.forms import SecretInput
from opensspr.methods.questions import ANSWER_MAX, PREDEFINED_PREFIX, Question
from opensspr.policy.kinds import MethodKind
from opensspr.registration.identity import ProofOption
from opensspr.signin.forms import PASSWORD_MAX

_ONE_TIME_CODE = {
    "autocomplete": "one-time-code",
    "inputmode": "numeric",
    "autocapitalize": "none",
    "spellcheck": "false",
    "autofocus": True,
}


def option_label(option: ProofOption) -> str:
    """How a registered method reads in "Verify it's you" (the value masked)."""
    labels = {
        MethodKind.APP_CODE: _("Enter a code from my authenticator app"),
        MethodKind.MOBILE_SMS: _("Text a code to %(to)s"),
        MethodKind.MOBILE_VOICE: _("Call %(to)s"),
        MethodKind.OFFICE_VOICE: _("Call my office phone, %(to)s"),
        MethodKind.EMAIL: _("Email a code to %(to)s"),
    }
    return str(labels[option.kind]) % {"to": option.shown_as}


class IdentityMethodForm(forms.Form):
    method = forms.ChoiceField(
        label=_("How do you want to verify it's you?"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose one of your methods.")},
    )

    def __init__(self, *args: Any, options: Sequence[ProofOption], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["method"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(o.value, option_label(o)) for o in options]
        if options:
            field.initial = options[0].value


class PasswordForm(forms.Form):
    password = forms.CharField(
        label=_("Password"),
        max_length=PASSWORD_MAX,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=16,
        widget=SecretInput(attrs=_ONE_TIME_CODE),
        error_messages={"required": _("Enter the code.")},
    )

    def clean_code(self) -> str:
        return "".join(str(self.cleaned_data["code"]).split()).replace("-", "")


class EmailForm(forms.Form):
    address = forms.CharField(
        label=_("Authentication email"),
        max_length=254,
        help_text=_("A personal address you can read without signing in here."),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
        error_messages={"required": _("Enter an email address.")},
    )


PROOF_KIND_LABELS = {
    MethodKind.MOBILE_SMS: _("Text me a code"),
    MethodKind.MOBILE_VOICE: _("Call me"),
    MethodKind.OFFICE_VOICE: _("Call me"),
}


class PhoneForm(forms.Form):
    number = forms.CharField(
        label=_("Phone number"),
        max_length=40,
        help_text=_("With the country code, for example +31 6 12345678."),
        widget=forms.TextInput(
            attrs={"autocomplete": "tel", "inputmode": "tel", "autofocus": True}
        ),
        error_messages={"required": _("Enter a phone number.")},
    )
    method = forms.ChoiceField(
        label=_("How should we check the number?"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a text or a call.")},
    )

    def __init__(self, *args: Any, kinds: Sequence[MethodKind], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["method"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(k.value, PROOF_KIND_LABELS[k]) for k in kinds]
        if kinds:
            field.initial = kinds[0].value


class QuestionsForm(forms.Form):
    """``count`` pairs of question and answer; each question chosen once."""

    def __init__(
        self, *args: Any, count: int, questions: Sequence[Question], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        built_in = [(q.key, q.text) for q in questions if q.key.startswith(PREDEFINED_PREFIX)]
        own = [(q.key, q.text) for q in questions if not q.key.startswith(PREDEFINED_PREFIX)]
        choices: list[Any] = [("", _("Choose a question")), (_("Common questions"), built_in)]
        if own:
            choices.append((_("Your organisation's questions"), own))
        self.count = count
        for n in range(1, count + 1):
            self.fields[f"question_{n}"] = forms.ChoiceField(
                label=_("Question"),
                choices=choices,
                error_messages={"required": _("Choose a question.")},
            )
            self.fields[f"answer_{n}"] = forms.CharField(
                label=_("Answer"),
                max_length=ANSWER_MAX * 2,
                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
                error_messages={"required": _("Enter an answer.")},
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        seen: set[str] = set()
        for n in range(1, self.count + 1):
            key = cleaned.get(f"question_{n}")
            if key and key in seen:
                self.add_error(f"question_{n}", _("Choose a different question for each answer."))
            seen.add(key or "")
        return cleaned

    def forget_wrong_answers(self) -> None:
        """Shown again, a refused answer is empty; the person's other answers stay typed.

        The person is registering their own answers on a never-cached page, so
        retyping five because one was too short helps nobody; a refused one is
        typed afresh all the same.
        """
        for n in range(1, self.count + 1):
            name = f"answer_{n}"
            if self.is_bound and (self.has_error(name) or self.has_error(f"question_{n}")):
                attrs = self.fields[name].widget.attrs
                self.fields[name].widget = SecretInput(attrs=attrs)

    def pairs(self) -> list[tuple[str, str, str]]:
        """(question field, answer field, question key) for each slot."""
        return [
            (f"question_{n}", f"answer_{n}", self.cleaned_data.get(f"question_{n}", ""))
            for n in range(1, self.count + 1)
        ]

    def slots(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"question_{n}"], self[f"answer_{n}"]) for n in range(1, self.count + 1)]
