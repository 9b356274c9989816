"""A person signs in and changes a password in a real browser, in English and Dutch."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from opensspr.core import clock
from tests.conftest import DEFAULT_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, user_id, password, query=""):
    page.goto(f"/signin{query}")
    page.fill("#id_user_id", user_id)
    page.fill("#id_password", password)
    page.keyboard.press("Enter")  # the keyboard alone is enough


def _change(page, current, new, confirm=None):
    page.fill("#id_current_password", current)
    page.fill("#id_new_password", new)
    page.fill("#id_confirm_password", confirm or new)
    page.click("button[type=submit]")


def test_sign_in_and_change_password_in_english(page, user_factory):
    user_factory(
        "jan.jansen@contoso.example", given_name="Jan", surname="Jansen", display_name="Jan Jansen"
    )
    _sign_in(page, "jan.jansen@contoso.example", "Not-My-Password-1")
    expect(page.locator("#signin-error")).to_contain_text("incorrect")
    # The reset opens with the user ID just typed.
    expect(page.locator("#cant-access")).to_have_attribute(
        "href", "/reset?username=jan.jansen%40contoso.example"
    )
    _sign_in(page, "jan.jansen@contoso.example", DEFAULT_PASSWORD)
    expect(page.locator("h1")).to_have_text("Hello, Jan Jansen")

    page.click("#change-password")
    expect(page.locator("h1")).to_have_text("Change password")
    _change(page, DEFAULT_PASSWORD, "jansen")
    expect(page.locator("#id_new_password_error")).to_contain_text("8")
    new = "Copper-Kettle-Morning-84"
    _change(page, DEFAULT_PASSWORD, new)
    expect(page.locator(".notice")).to_have_text("Your password has been changed.")

    page.click("text=Sign out")
    expect(page.locator("h1")).to_have_text("Sign in")
    _sign_in(page, "jan.jansen@contoso.example", DEFAULT_PASSWORD)
    expect(page.locator("#signin-error")).to_contain_text("incorrect")
    _sign_in(page, "jan.jansen@contoso.example", new)
    expect(page.locator("h1")).to_have_text("Hello, Jan Jansen")


def test_sign_in_and_change_password_in_dutch(page, user_factory):
    user_factory("maria@contoso.example", display_name="Maria Garcia")
    _sign_in(page, "maria@contoso.example", DEFAULT_PASSWORD, query="?mkt=nl-nl")
    expect(page.locator("h1")).to_have_text("Hallo, Maria Garcia")
    page.click("#change-password")
    expect(page.locator("h1")).to_have_text("Wachtwoord wijzigen")
    _change(page, "Fout-Wachtwoord-9", "Zilveren-Vlinder-Avond-31")
    expect(page.locator("#id_current_password_error")).to_contain_text("onjuist")
    _change(page, DEFAULT_PASSWORD, "kort")
    expect(page.locator("#id_new_password_error")).to_contain_text("8")
    _change(page, DEFAULT_PASSWORD, "Zilveren-Vlinder-Avond-31")
    expect(page.locator(".notice")).to_have_text("Je wachtwoord is gewijzigd.")


def test_expired_password_is_changed_before_anything_else(page, user_factory):
    user = user_factory("oscar@contoso.example", display_name="Oscar Old")
    user.password_last_set = clock.now() - timedelta(days=200)
    user.save()
    _sign_in(page, "oscar@contoso.example", DEFAULT_PASSWORD)
    expect(page.locator("h1")).to_have_text("Update your password")
    page.goto("/")  # nothing else is reachable before the change
    expect(page.locator("h1")).to_have_text("Sign in")
    page.goto("/signin/update-password")
    _change(page, DEFAULT_PASSWORD, "Granite-Orchard-Twelve-6")
    expect(page.locator("h1")).to_have_text("Hello, Oscar Old")
