"""The captcha as a form field: a visible widget box plus a hidden payload input.

``CaptchaField`` is always required; a form that leaves the value out is
rejected with the same message as a wrong solution, never waved through.
``clean`` redeems the solution, so a form must be built and validated once per
submission (a second ``is_valid()`` on a new form with the same data fails).
"""

from typing import Any

from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from opensspr.captcha import protocol
from opensspr.captcha.services import verify_captcha

NOT_CONFIRMED = _(
    "We couldn't confirm you're a person. Wait until the check below says it's done, "
    "then try again."
)


# What the widget's live region says; rendered into data-* attributes (escaped),
# so the script shows translated texts without holding any of its own.
STATUS_TEXTS = {
    "working": _("Checking that you're a person…"),
    "waiting": _(
        "Still checking that you're a person. Your form will be sent as soon as it's done."
    ),
    "done": _("Done. You can continue."),
    "failed": _("We couldn't finish the check. Check your connection, then select Try again."),
}


class CaptchaWidget(forms.Widget):
    """Renders ``captcha/widget.html``; the id and ARIA attributes land on the status.

    The submitted payload is never rendered back: it has been spent, and a
    re-shown form starts a fresh check.
    """

    template_name = "captcha/widget.html"

    def format_value(self, value: Any) -> None:
        return None

    def use_required_attribute(self, initial: Any) -> bool:
        return False  # the attributes go on an <output>, where `required` means nothing

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["captcha"] = {
            "challenge_url": reverse("captcha:challenge"),
            "worker_url": static("opensspr/captcha-worker.js"),
            "refresh_after": int(protocol.REFRESH_AFTER.total_seconds()),
            "texts": STATUS_TEXTS,
        }
        return context


class CaptchaField(forms.Field):
    widget = CaptchaWidget
    default_error_messages = {"required": NOT_CONFIRMED, "invalid": NOT_CONFIRMED}

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.pop("required", True) is not True:
            raise ImproperlyConfigured("A captcha field is always required.")
        kwargs.setdefault("label", _("Security check"))
        super().__init__(required=True, **kwargs)

    def clean(self, value: Any) -> bool:
        """Redeem the solution; ``True`` means a person (or their browser) did the work."""
        super().clean(value)  # "required": a missing or empty value is rejected here
        if not verify_captcha(value):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return True
