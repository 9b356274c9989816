"""Phone numbers in E.164: the shortcut for numbers already written so agrees with a full parse."""

import hashlib

import phonenumbers
import pytest
from django.core.exceptions import ValidationError
from phonenumbers.phonemetadata import PhoneMetadata

from opensspr.accounts.phones import normalise_phone

FORMATS = (phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def parsed_in_full(text: str) -> str | None:
    """What ``normalise_phone`` answered before it had a shortcut: parse, check, format."""
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    number.extension = None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalised(text: str) -> str | None:
    try:
        return normalise_phone(text)
    except ValidationError:
        return None


def example_numbers() -> list[str]:
    regions = phonenumbers.SUPPORTED_REGIONS
    codes = phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS
    numbers = [
        phonenumbers.example_number_for_type(region, kind)
        for region in regions
        for kind in phonenumbers.PhoneNumberType.values()
    ] + [phonenumbers.example_number_for_non_geo_entity(code) for code in codes]
    return sorted(
        {phonenumbers.format_number(n, f) for n in numbers if n is not None for f in FORMATS}
    )


def test_every_example_number_of_every_region_and_kind_reads_as_a_full_parse_reads_it():
    numbers = example_numbers()
    assert len(numbers) > 1500  # both spellings of every region's examples
    differ = [(t, normalised(t), parsed_in_full(t)) for t in numbers]
    assert [d for d in differ if d[1] != d[2]] == []
    assert sum(d[1] is not None for d in differ) > 1500


def test_random_digits_after_every_country_code_read_as_a_full_parse_reads_them():
    """Valid or not, trunk prefixes and leading zeros included: the same answer."""

    def digits(*seed: object) -> int:  # the same "random" digits on every run
        return int(hashlib.sha256(repr(seed).encode()).hexdigest(), 16)

    texts = [
        f"+{code}{'0' * (digits(code, length, n) % 2)}{digits(n, code, length) % 10**length}"
        for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
        for length in range(3, 14)
        for n in range(3)
    ]
    answers = [(t, normalised(t), parsed_in_full(t)) for t in texts]
    assert [a for a in answers if a[1] != a[2]] == []
    assert sum(a[1] is not None for a in answers) > 200  # some are valid numbers


def test_numbers_with_a_national_prefix_after_the_country_code_read_as_a_full_parse_reads_them():
    """Belarus: "+375 810 ..." was a valid premium-rate number to the shortcut, none to parse."""
    texts = []
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        region = phonenumbers.region_code_for_country_code(code)
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        if metadata is None or not metadata.national_prefix:
            continue
        for kind in phonenumbers.PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None and example.country_code == code:
                national = phonenumbers.national_significant_number(example)
                texts += [f"+{code}{metadata.national_prefix}{national}", f"+{code}{national}"]
    assert len(texts) > 1000
    answers = [(t, normalised(t), parsed_in_full(t)) for t in texts]
    assert [a for a in answers if a[1] != a[2]] == []
    assert normalised("+375 810 675 9508") is None


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+31 6 1234 5678", "+31612345678"),
        ("+31612345678", "+31612345678"),
        ("+39 06 1234 5678", "+390612345678"),  # Italy keeps its leading zero
        ("+44 (0)7911 123456", "+447911123456"),  # the UK's trunk zero is dropped
        ("+1 650-253-0000 ext. 12", "+16502530000"),  # the extension is never dialled
        ("0612345678", None),  # no country code and no default region
        ("+31 6 1234", None),
    ],
)
def test_a_typed_number_is_stored_in_e164(typed, stored):
    assert normalised(typed) == stored
