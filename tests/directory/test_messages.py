"""Every directory code reads as a sentence, in English and in Dutch."""

import pytest
from django.utils import translation

from opensspr.directory.errors import DirectoryCode
from opensspr.directory.messages import MESSAGES, message_for


@pytest.mark.parametrize("code", list(DirectoryCode))
def test_every_code_has_a_translated_sentence(code: DirectoryCode) -> None:
    english = str(message_for(code))
    with translation.override("nl"):
        dutch = str(message_for(code))
    assert english.endswith(".")
    assert dutch != english
    assert code.value not in english


def test_an_unknown_code_reads_as_unexpected() -> None:
    assert message_for("from_a_newer_agent") == MESSAGES[DirectoryCode.UNEXPECTED]


def test_lookup_failures_read_like_set_up_problems_not_like_unknown_users() -> None:
    """A1: the sentence never says whether an account exists."""
    assert message_for("user_not_found") == message_for("multiple_matches")
    assert message_for("user_not_found") == message_for("permission_denied")
