"""The security-info pages through the test client: what they show, and every way to prove.

Codes come from the outbox; calls are answered through the demo outbox's own
button (the voice webhook), exactly as in the browser.
"""

import re

import pytest

from opensspr.accounts.models import User
from opensspr.channels.models import Message
from opensspr.methods.models import SecurityAnswer
from opensspr.policy.models import CustomQuestion
from opensspr.registration.models import Proof, RegistrationState
from tests.conftest import DEFAULT_PASSWORD, past_the_send_cooldown, update_policy
from tests.registration.conftest import MOBILE, NEW_MOBILE, OFFICE, code_for, voice_token_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_policy")]
BACKEND = "opensspr.signin.backends.DirectorySessionBackend"


@pytest.fixture
def signed_in(client, user_factory):
    """A person with an email and a mobile number, signed in (no interrupt)."""
    person = user_factory(auth_email="mine@mail.example", mobile_phone=MOBILE)
    RegistrationState.objects.create(user=person, mobile_phone_proven_at=person.created_at)
    client.force_login(person, backend=BACKEND)
    return person


def _prove_by_email(client, person):
    client.post("/security-info/verify?next=/security-info", {"method": "email"})
    response = client.post(
        "/security-info/verify/code?next=/security-info", {"code": code_for(person.auth_email)}
    )
    assert response.status_code == 302


def test_the_page_lists_methods_masked_and_whether_reset_works(client, signed_in):
    page = client.get("/security-info").content.decode()
    assert "m•••@mail.example" in page and "mine@mail.example" not in page
    assert "+31 6 •••• 5678" in page and MOBILE not in page
    assert "You can reset your password yourself" in page
    # The email was set by an administrator, the mobile proven by the person.
    email_row = re.search(r'id="method-email".*?</li>', page, re.S).group(0)
    assert "set by your administrator" in email_row
    mobile_row = re.search(r'id="method-mobile-phone".*?</li>', page, re.S).group(0)
    assert "set by your administrator" not in mobile_row


def test_the_page_says_what_is_missing(client, user_factory):
    update_policy(methods_required=2)
    person = user_factory(auth_email="mine@mail.example")
    client.force_login(person, backend=BACKEND)
    page = client.get("/security-info").content.decode()
    assert "You can't reset your password yourself yet" in page
    assert "Register at least 2 different methods" in page and "OSSPR_0014" in page


def test_the_home_page_links_to_security_info(client, signed_in):
    assert 'href="/security-info"' in client.get("/").content.decode()


def test_a_change_page_asks_to_verify_first_and_comes_back(client, signed_in):
    response = client.get("/security-info/mobile-phone/number")
    assert response.status_code == 302
    assert (
        response["Location"]
        == "/security-info/verify?next=%2Fsecurity-info%2Fmobile-phone%2Fnumber"
    )
    page = client.get(response["Location"]).content.decode()
    assert "Email a code to m•••@mail.example" in page
    assert "Text a code to +31 6 •••• 5678" in page and "Call +31 6 •••• 5678" in page
    client.post(response["Location"], {"method": "email"})
    code = code_for("mine@mail.example")
    back = client.post(
        "/security-info/verify/code?next=/security-info/mobile-phone/number", {"code": code}
    )
    assert back["Location"] == "/security-info/mobile-phone/number"
    assert client.get(back["Location"]).status_code == 200


def test_verify_never_sends_anyone_to_another_site(client, signed_in):
    for target in ("https://evil.example/", "//evil.example", "/security-info//evil.example"):
        past_the_send_cooldown()  # one code to one inbox a minute (A5)
        client.post(f"/security-info/verify?next={target}", {"method": "email"})
        response = client.post(
            f"/security-info/verify/code?next={target}", {"code": code_for("mine@mail.example")}
        )
        assert response["Location"] == "/security-info"


def test_a_wrong_code_is_said_beside_the_field(client, signed_in):
    client.post("/security-info/verify", {"method": "email"})
    page = client.post("/security-info/verify/code", {"code": "00000000"}).content.decode()
    assert 'id="id_code_error"' in page and "That code isn" in page


def test_a_new_mobile_number_proven_by_a_call(client, signed_in, settings):
    settings.OPENSSPR_OUTBOX_PAGE = True
    _prove_by_email(client, signed_in)
    response = client.post(
        "/security-info/mobile-phone/number",
        {"number": "+31 6 8765 4321", "method": "mobile_voice"},
    )
    assert response["Location"] == "/security-info/confirm"
    page = client.get("/security-info/confirm").content.decode()
    assert "Answer the call" in page and "+31 6 •••• 4321" in page
    # Continue before answering: nothing changes.
    page = client.post("/security-info/confirm").content.decode()
    assert "We haven&#x27;t had your answer yet" in page
    assert User.objects.get(pk=signed_in.pk).mobile_phone == MOBILE
    # The demo outbox's "answer the call and press #" button is the voice webhook.
    hook = client.post(f"/hooks/voice/outbox/{voice_token_for(NEW_MOBILE)}", {"Digits": "#"})
    assert hook.status_code == 302 and hook["Location"] == "/outbox/"
    assert client.post("/security-info/confirm")["Location"] == "/security-info"
    assert User.objects.get(pk=signed_in.pk).mobile_phone == NEW_MOBILE


def test_a_call_answered_without_the_pound_key_proves_nothing(client, signed_in, settings):
    settings.OPENSSPR_OUTBOX_PAGE = True
    _prove_by_email(client, signed_in)
    client.post("/security-info/office-phone/number", {"number": OFFICE, "method": "office_voice"})
    client.post(f"/hooks/voice/outbox/{voice_token_for(OFFICE)}", {"Digits": "1"})
    assert Proof.objects.get(value=OFFICE).answered_at is None
    client.post(f"/hooks/voice/outbox/{voice_token_for(OFFICE)}", {"Digits": "#"})
    client.post("/security-info/confirm")
    assert User.objects.get(pk=signed_in.pk).office_phone == OFFICE


def test_an_identity_call_is_answered_through_the_same_webhook(client, signed_in, settings):
    settings.OPENSSPR_OUTBOX_PAGE = True
    client.post("/security-info/verify", {"method": "mobile_voice"})
    page = client.get("/security-info/verify/code").content.decode()
    assert "Answer the call" in page
    prompt = Message.objects.get(kind="voice").voice_prompt
    assert "security info" in prompt
    client.post(f"/hooks/voice/outbox/{voice_token_for(MOBILE)}", {"Digits": "#"})
    assert client.post("/security-info/verify/code")["Location"] == "/security-info"
    assert client.get("/security-info/email").status_code == 200


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("+31 6 1234", "country code"),  # too short to be a number
        ("+31 20 555 0102", "looks like a landline"),  # a fixed line as mobile
        ("+31 900 1234567", "kind of number can"),  # premium rate
        (MOBILE, "already registered here"),
    ],
)
def test_bad_numbers_are_refused_with_a_clear_message(client, signed_in, number, message):
    _prove_by_email(client, signed_in)
    page = client.post(
        "/security-info/mobile-phone/number", {"number": number, "method": "mobile_sms"}
    ).content.decode()
    assert 'id="id_number_error"' in page and message in page.replace("&#x27;", "'")
    assert not Proof.objects.exclude(purpose="identity").exists()


def _register_mobile(client, number):
    return client.post(
        "/security-info/mobile-phone/number", {"number": number, "method": "mobile_sms"}
    )


def test_a_local_number_is_refused_when_no_region_is_known(client, user_factory):
    person = user_factory(auth_email="mine@mail.example")
    client.force_login(person, backend=BACKEND)
    _prove_by_email(client, person)
    page = _register_mobile(client, "06 12345699").content.decode()
    assert 'id="id_number_error"' in page and "country code" in page
    assert not Proof.objects.exclude(purpose="identity").exists()


def test_a_local_number_is_read_in_the_organisations_default_region(client, user_factory, settings):
    """Issue 12 item 13: typed as dialled at home, as the reset accepts it."""
    settings.OPENSSPR_DEFAULT_PHONE_REGION = "NL"
    person = user_factory(auth_email="mine@mail.example")
    client.force_login(person, backend=BACKEND)
    _prove_by_email(client, person)
    _register_mobile(client, "06 12345699")
    assert Proof.objects.get(purpose="mobile_phone").value == "+31612345699"


def test_a_local_number_is_read_in_the_region_of_the_persons_other_number(client, signed_in):
    """No default region: the reset reads a typed number in the stored one's region; so do we."""
    _prove_by_email(client, signed_in)
    _register_mobile(client, "06 12345699")
    assert Proof.objects.get(purpose="mobile_phone").value == "+31612345699"


def test_numbers_are_stored_in_e164_without_the_extension(client, signed_in):
    _prove_by_email(client, signed_in)
    client.post(
        "/security-info/mobile-phone/number",
        {"number": "+31 (0)6-8765 4321 ext. 99", "method": "mobile_sms"},
    )
    assert Proof.objects.get(purpose="mobile_phone").value == NEW_MOBILE
    client.post("/security-info/confirm", {"code": code_for(NEW_MOBILE)})
    assert User.objects.get(pk=signed_in.pk).mobile_phone == NEW_MOBILE


def test_the_app_page_shows_a_qr_code_and_the_key(client, signed_in):
    _prove_by_email(client, signed_in)
    assert "app-begin" in client.get("/security-info/authenticator-app").content.decode()
    client.post("/security-info/authenticator-app", {"action": "begin"})
    page = client.get("/security-info/authenticator-app").content.decode()
    assert 'src="data:image/svg+xml' in page
    key = re.search(r'id="app-secret">([A-Z2-7 ]+)<', page).group(1)
    assert len(key.replace(" ", "")) == 32


def test_the_questions_page_offers_built_in_and_custom_questions(client, signed_in):
    update_policy(allow_security_questions=True, questions_to_register=3, questions_to_reset=3)
    custom = CustomQuestion.objects.create(text="Which lighthouse did you visit first?")
    _prove_by_email(client, signed_in)
    page = client.get("/security-info/security-questions").content.decode()
    assert page.count("<select") == 3
    assert "In which city did your parents meet?" in page and custom.text in page
    answers = {
        "question_1": "predefined:2",
        "answer_1": "Rotterdam harbour",
        "question_2": "predefined:2",
        "answer_2": "Eindhoven",
        "question_3": f"custom:{custom.pk}",
        "answer_3": "Westkapelle",
    }
    page = client.post("/security-info/security-questions", answers).content.decode()
    assert "Choose a different question for each answer." in page
    answers["question_2"] = "predefined:12"
    answers["answer_2"] = "rotterdam HARBOUR"
    page = client.post("/security-info/security-questions", answers).content.decode()
    assert 'id="id_answer_2_error"' in page
    answers["answer_2"] = "pannenkoeken"
    response = client.post("/security-info/security-questions", answers)
    assert response["Location"] == "/security-info"
    assert SecurityAnswer.objects.filter(user=signed_in).count() == 3


def test_questions_are_not_shown_to_administrators(client, user_factory):
    update_policy(allow_security_questions=True)
    admin = user_factory(auth_email="a@mail.example", roles=("helpdesk_admin",))
    client.force_login(admin, backend=BACKEND)
    assert "security-questions" not in client.get("/security-info").content.decode()
    _prove_by_email(client, admin)
    assert client.get("/security-info/security-questions").status_code == 404


def test_a_method_the_policy_forbids_can_be_removed_but_not_changed(client, signed_in):
    update_policy(allow_email=False)
    page = client.get("/security-info").content.decode()
    assert 'id="email-remove"' in page and 'id="email-change"' not in page
    _prove_by_email(client, signed_in)
    assert client.get("/security-info/email").status_code == 404
    assert client.post("/security-info/email/remove")["Location"] == "/security-info"
    assert User.objects.get(pk=signed_in.pk).auth_email == ""


def test_nothing_registered_asks_for_the_password(client, user_factory):
    update_policy(registration_required=False)
    person = user_factory()
    client.force_login(person, backend=BACKEND)
    page = client.get("/security-info/verify").content.decode()
    assert 'type="password"' in page
    page = client.post("/security-info/verify", {"password": "wrong"}).content.decode()
    assert 'id="id_password_error"' in page
    response = client.post("/security-info/verify", {"password": DEFAULT_PASSWORD})
    assert response["Location"] == "/security-info"
    assert client.get("/security-info/email").status_code == 200


def test_a_reset_flow_in_the_browser_reaches_no_security_info_page(client, signed_in):
    from tests.portal.conftest import solved_captcha

    client.post("/signout")
    client.post("/reset", {"user_id": signed_in.user_id, "captcha": solved_captcha()})
    for path in ("/security-info", "/security-info/email", "/security-info/confirm"):
        assert client.get(path)["Location"].startswith("/signin")


def test_every_problem_with_the_answers_is_shown_at_once_and_good_answers_stay(client, signed_in):
    update_policy(allow_security_questions=True, questions_to_register=3, questions_to_reset=3)
    _prove_by_email(client, signed_in)
    answers = {
        "question_1": "predefined:2",
        "answer_1": "Ab",  # too short: an answer rule
        "question_2": "predefined:2",  # the same question twice: a form rule
        "answer_2": "Eindhoven",
        "question_3": "predefined:12",
        "answer_3": "Pannenkoeken",
    }
    page = client.post("/security-info/security-questions", answers).content.decode()
    assert "Choose a different question for each answer." in page
    assert "Answers must be 3 to 40 characters long." in page
    assert 'value="Pannenkoeken"' in page  # a good answer needn't be typed again
    assert 'value="Ab"' not in page and 'value="Eindhoven"' not in page
    assert not SecurityAnswer.objects.filter(user=signed_in).exists()


def test_a_second_code_to_one_inbox_within_a_minute_is_held(client, signed_in, clock):
    """Issue 12 item 7 (A5): the cooldown holds registration's codes too, and says why."""
    _prove_by_email(client, signed_in)
    client.post("/security-info/email", {"address": "new@mail.example"})
    page = client.post("/security-info/email", {"address": "new@mail.example"}).content.decode()
    assert "we send at most one a minute" in page.replace("&#x27;", "'")
    assert Message.objects.filter(recipient="new@mail.example").count() == 1
    clock.advance(seconds=61)
    client.post("/security-info/email", {"address": "new@mail.example"})
    assert Message.objects.filter(recipient="new@mail.example").count() == 2
