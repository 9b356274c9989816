"""Sealed passwords open only for their agent, their job, their kind and their field."""

import pytest

from opensspr.directory.jobs import seal_context
from opensspr.directory.sealing import (
    SealError,
    new_private_key,
    open_sealed,
    public_key_from,
    public_key_text,
    seal,
)

SECRET = "Lantern-Harbour-Quiet-93"


def test_a_sealed_password_opens_with_the_agents_key_for_its_job():
    key = new_private_key()
    context = seal_context("job-1", "reset", "password")
    envelope = seal(public_key_from(public_key_text(key)), SECRET, context=context)
    assert SECRET not in envelope
    assert open_sealed(key, envelope, context=context) == SECRET


@pytest.mark.parametrize(
    "context",
    [
        seal_context("job-2", "reset", "password"),  # another job
        seal_context("job-1", "change", "password"),  # another kind
        seal_context("job-1", "reset", "old"),  # another field
    ],
)
def test_an_envelope_never_opens_for_another_job_kind_or_field(context):
    key = new_private_key()
    envelope = seal(
        public_key_from(public_key_text(key)),
        SECRET,
        context=seal_context("job-1", "reset", "password"),
    )
    with pytest.raises(SealError):
        open_sealed(key, envelope, context=context)


def test_another_agents_key_or_an_altered_envelope_is_refused():
    mine, theirs = new_private_key(), new_private_key()
    context = seal_context("job-1", "reset", "password")
    envelope = seal(public_key_from(public_key_text(mine)), SECRET, context=context)
    with pytest.raises(SealError):
        open_sealed(theirs, envelope, context=context)
    altered = envelope[:-6] + ("A" if envelope[-6] != "A" else "B") + envelope[-5:]
    with pytest.raises(SealError):
        open_sealed(mine, altered, context=context)


def test_each_seal_is_different_even_for_the_same_password():
    key = public_key_from(public_key_text(new_private_key()))
    context = seal_context("job-1", "reset", "password")
    assert seal(key, SECRET, context=context) != seal(key, SECRET, context=context)


def test_a_public_key_that_isnt_one_is_refused():
    with pytest.raises(SealError):
        public_key_from("bm90LWEta2V5")
