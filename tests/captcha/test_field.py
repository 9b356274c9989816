"""CaptchaField: always required, redeems on clean, never echoes a spent payload."""

import re

import pytest
from django import forms
from django.core.exceptions import ImproperlyConfigured

from opensspr.captcha.fields import NOT_CONFIRMED, CaptchaField
from opensspr.captcha.models import UsedChallenge

pytestmark = pytest.mark.django_db


class WhoAreYouForm(forms.Form):
    user_id = forms.CharField()
    captcha = CaptchaField()


@pytest.mark.parametrize(
    "data",
    [
        {"user_id": "a@contoso.example"},
        {"user_id": "a@contoso.example", "captcha": ""},
        {"user_id": "a@contoso.example", "captcha": "   "},
        {"user_id": "a@contoso.example", "skip_captcha": "1", "skipCaptcha": "true"},
        {"user_id": "a@contoso.example", "captcha": "bm90IGEgc29sdXRpb24="},
    ],
    ids=["missing", "empty", "blank", "skip_parameters", "wrong"],
)
def test_form_rejects_when_captcha_is_missing_or_wrong(data):
    form = WhoAreYouForm(data=data)
    assert not form.is_valid()
    assert form.errors["captcha"] == [str(NOT_CONFIRMED)]


def test_form_accepts_a_fresh_solution_once(solved_payload):
    data = {"user_id": "a@contoso.example", "captcha": solved_payload()}
    form = WhoAreYouForm(data=data)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["captcha"] is True
    assert UsedChallenge.objects.count() == 1
    again = WhoAreYouForm(data=data)
    assert not again.is_valid()
    assert again.errors["captcha"] == [str(NOT_CONFIRMED)]


def test_disabled_field_is_not_a_way_around():
    form = WhoAreYouForm(data={"user_id": "a@contoso.example"})
    form.fields["captcha"].disabled = True
    assert not form.is_valid()


def test_field_cannot_be_made_optional():
    with pytest.raises(ImproperlyConfigured):
        CaptchaField(required=False)


def test_widget_renders_box_live_region_and_texts_but_not_the_payload(solved_payload):
    payload = solved_payload()
    form = WhoAreYouForm(data={"user_id": "a@contoso.example", "captcha": payload})
    html = str(form["captcha"])
    assert payload not in html
    assert '<input type="hidden" name="captcha" value=""' in html
    assert 'aria-live="polite"' in html and 'id="id_captcha"' in html
    assert 'data-challenge-url="/captcha/challenge"' in html
    assert 'data-worker-url="/static/opensspr/captcha-worker.js"' in html
    assert 'data-text-done="Done. You can continue."' in html
    assert "<noscript>" in html and "needs JavaScript" in html
    assert '<script src="/static/opensspr/captcha.js" defer></script>' in html
    assert not re.search(r"\s(style|on\w+)=", html)  # CSP: no inline styles or handlers


def test_widget_points_the_error_at_its_status(solved_payload):
    form = WhoAreYouForm(data={"user_id": "a@contoso.example"})
    form.is_valid()
    html = str(form["captcha"])
    assert 'aria-describedby="id_captcha_error"' in html and 'aria-invalid="true"' in html


def test_widget_texts_are_escaped_in_attributes(monkeypatch):
    from opensspr.captcha import fields

    monkeypatch.setitem(fields.STATUS_TEXTS, "done", 'Klaar. "Ga" <verder>')
    html = str(WhoAreYouForm()["captcha"])
    assert 'data-text-done="Klaar. &quot;Ga&quot; &lt;verder&gt;"' in html
