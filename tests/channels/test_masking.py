"""Masked addresses and numbers: recognisable to their owner, useless to a stranger."""

import pytest

from opensspr.channels import mask_email, mask_phone


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("jane.doe@mail.example", "j•••@mail.example"),
        ("j@mail.example", "j•••@mail.example"),
        ("odd@name@mail.example", "o•••@mail.example"),
        ("not-an-address", "•••"),
        ("@mail.example", "•••"),
    ],
)
def test_mask_email_keeps_the_first_letter_and_the_domain(address, masked):
    assert mask_email(address) == masked


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+31612345678", "+31 6 •••• 5678"),
        ("+14155550123", "+1 4 •••• 0123"),
        ("+3552123", "+355 •••• 2123"),
        ("0612345678", "•••• 5678"),
        ("12", "••••"),
    ],
)
def test_mask_phone_keeps_the_country_code_and_last_four_digits(number, masked):
    assert mask_phone(number) == masked
