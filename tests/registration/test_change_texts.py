"""Every security-info change is also texted to the registered mobile number."""

from dataclasses import replace

import pytest

from opensspr.registration import services
from opensspr.registration.notify import Item
from tests.conftest import delivered
from tests.registration.conftest import (
    MOBILE,
    OFFICE,
    SESSION,
    code_for,
    prove_by_email,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_policy")]

# --- texts for every change -----------------------------------------------------------


def _texts_to(number):
    return [
        m.plaintext_body()
        for m in delivered(recipient=number, kind="sms").filter(purpose="registration.notification")
    ]


def test_every_change_is_texted_to_the_registered_mobile(user_factory, meta):
    person = user_factory(auth_email="a@mail.example", mobile_phone=MOBILE, office_phone=OFFICE)
    prove_by_email(person, meta)
    services.start_email_change(user=person, session=SESSION, address="b@mail.example", meta=meta)
    services.finish_contact_change(
        user=person, session=SESSION, answer=code_for("b@mail.example"), meta=meta
    )
    services.remove_method(
        user=person,
        session=SESSION,
        item=Item.OFFICE_PHONE,
        meta=replace(meta, correlation_id="second-request"),
    )
    texts = _texts_to(MOBILE)
    assert len(texts) == 2
    assert "authentication email" in texts[-1] or "authentication email" in texts[0]
    assert any("office phone" in t for t in texts)
    assert all("If this wasn't you, contact your administrator" in t for t in texts)
    assert all("b@mail.example" not in t and OFFICE not in t for t in texts)


def test_no_text_without_a_mobile_number(user_factory, meta):
    person = user_factory(auth_email="a@mail.example", office_phone=OFFICE)
    prove_by_email(person, meta)
    services.remove_method(user=person, session=SESSION, item=Item.OFFICE_PHONE, meta=meta)
    assert not delivered(kind="sms").filter(purpose="registration.notification").exists()
