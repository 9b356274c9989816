"""Encryption at rest and keyed digests."""

import pytest

from opensspr.core.crypto import DecryptionError, keyed_digest, seal, secrets_equal, unseal


def test_sealed_values_open_and_hide_the_plaintext():
    token = seal("JBSWY3DPEHPK3PXP")
    assert "JBSWY3DPEHPK3PXP" not in token
    assert unseal(token) == "JBSWY3DPEHPK3PXP"
    assert seal("same") != seal("same")  # random IV


def test_rotated_keys_still_open_old_values(settings):
    settings.OPENSSPR_ENCRYPTION_KEY = "old-key"
    old = seal("seed")
    settings.OPENSSPR_ENCRYPTION_KEY = "new-key"
    with pytest.raises(DecryptionError):
        unseal(old)
    settings.OPENSSPR_ENCRYPTION_KEY_FALLBACKS = ["old-key"]
    assert unseal(old) == "seed"


def test_digests_are_bound_to_their_purpose():
    assert keyed_digest("a", "value") != keyed_digest("b", "value")
    assert keyed_digest("a", "value") == keyed_digest("a", "value")


def test_secret_comparison():
    assert secrets_equal("123456", "123456")
    assert not secrets_equal("123456", "123457")
    assert not secrets_equal("123456", "1234567")
