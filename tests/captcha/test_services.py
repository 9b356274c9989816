"""verify_captcha accepts a correct, fresh solution exactly once and nothing else."""

import base64
import json

import altcha
import pytest

from opensspr.captcha import protocol
from opensspr.captcha.models import UsedChallenge
from opensspr.captcha.services import issue_challenge, verify_captcha
from opensspr.channels import deliver_due
from tests.captcha.conftest import pack, payload_fields

pytestmark = pytest.mark.django_db


def test_fresh_solution_verifies_once(solved_payload):
    payload = solved_payload()
    assert verify_captcha(payload) is True
    assert verify_captcha(payload) is False  # replay
    assert UsedChallenge.objects.count() == 1


def test_replay_is_rejected_when_only_the_encoding_differs():
    fields = payload_fields(dict(issue_challenge()))
    assert verify_captcha(pack(fields)) is True
    spaced = base64.b64encode(json.dumps(fields, indent=2).encode()).decode()
    reordered = pack(dict(reversed(fields.items())))
    assert verify_captcha(spaced) is False
    assert verify_captcha(reordered) is False


def test_each_challenge_is_its_own(solved_payload):
    assert verify_captcha(solved_payload()) is True
    assert verify_captcha(solved_payload()) is True


def _flip_hex(value: str, index: int = 0) -> str:
    return value[:index] + ("0" if value[index] != "0" else "1") + value[index + 1 :]


TAMPERINGS = {
    "number": lambda f: {**f, "number": f["number"] + 1},
    "signature": lambda f: {**f, "signature": _flip_hex(f["signature"], 63)},
    "signature_upper": lambda f: {**f, "signature": f["signature"].upper()},
    "challenge": lambda f: {**f, "challenge": _flip_hex(f["challenge"])},
    "salt_nonce": lambda f: {**f, "salt": _flip_hex(f["salt"])},
    "salt_expiry": lambda f: {**f, "salt": f["salt"].replace("?expires=", "?expires=9")},
    "salt_without_delimiter": lambda f: {**f, "salt": f["salt"].removesuffix("&")},
    "algorithm": lambda f: {**f, "algorithm": "SHA-1"},
    "extra_field": lambda f: {**f, "skip": True},
    "number_as_text": lambda f: {**f, "number": str(f["number"])},
}


@pytest.mark.parametrize("tamper", TAMPERINGS.values(), ids=TAMPERINGS.keys())
def test_tampered_solution_is_rejected(tamper):
    fields = payload_fields(dict(issue_challenge()))
    assert verify_captcha(pack(tamper(fields))) is False
    assert verify_captcha(pack(fields)) is True  # the untouched one was fine all along


def test_challenge_signed_with_another_key_is_rejected(clock):
    options = altcha.ChallengeOptionsV1(
        max_number=1000,
        salt_length=protocol.SALT_BYTES,
        hmac_key="someone-elses-key",
        expires=clock.now + protocol.TTL,
    )
    made = altcha.create_challenge_v1(options)
    foreign = {**made.to_dict()}
    assert protocol._SALT.fullmatch(foreign["salt"])  # same shape as ours: only the key differs
    assert verify_captcha(pack(payload_fields(foreign))) is False


def test_challenge_from_before_a_secret_key_change_is_rejected(settings, solved_payload):
    payload = solved_payload()
    settings.SECRET_KEY = "another-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
    assert verify_captcha(payload) is False


def test_challenge_expires_after_ten_minutes(clock, solved_payload):
    in_time, late = solved_payload(), solved_payload()
    clock.advance(minutes=9, seconds=59)
    assert verify_captcha(in_time) is True
    clock.advance(minutes=1, seconds=1)
    assert verify_captcha(late) is False


def test_expiry_follows_our_clock_not_the_wall_clock(clock, solved_payload):
    clock.advance(days=-365)  # issued "a year ago" by our clock: already long expired now
    payload = solved_payload()
    clock.advance(days=365)
    assert verify_captcha(payload) is False


GARBAGE = {
    "empty": "",
    "not_base64": "this is not base64!",
    "base64_of_text": base64.b64encode(b"hello").decode(),
    "json_list": pack([1, 2, 3]),  # type: ignore[arg-type]
    "json_string": base64.b64encode(b'"payload"').decode(),
    "json_missing_fields": pack({"algorithm": "SHA-256", "number": 1}),
    "json_wrong_types": pack(
        {"algorithm": "SHA-256", "challenge": 1, "number": "1", "salt": [], "signature": None}
    ),
    "number_is_bool": pack(
        {
            "algorithm": "SHA-256",
            "challenge": "0" * 64,
            "number": True,
            "salt": "a",
            "signature": "0" * 64,
        }
    ),
    "number_is_float": pack(
        {
            "algorithm": "SHA-256",
            "challenge": "0" * 64,
            "number": 1.0,
            "salt": "a",
            "signature": "0" * 64,
        }
    ),
    "huge_number": pack(
        {
            "algorithm": "SHA-256",
            "challenge": "0" * 64,
            "number": 10**4000,
            "salt": "a",
            "signature": "0" * 64,
        }
    )[:4000],
    "deep_nesting": base64.b64encode(b"[" * 3000).decode()[:4096],
    "not_ascii": "eyJ€",
    "nul_bytes": "\x00" * 64,
    "100_kb": "A" * 100_000,
    "100_kb_of_json": pack({"algorithm": "SHA-256", "salt": "a" * 100_000}),
}


@pytest.fixture
def work(monkeypatch):
    """Counts the costly steps verify_captcha takes: hashes, and characters parsed as JSON.

    The real functions still run; this measures work instead of wall-clock time,
    which depends on the machine and its load.
    """
    done = {"hashes": 0, "json_chars": 0}

    def counted(real, key, size=lambda *a: 1):
        def spy(*args, **kwargs):
            done[key] += size(*args)
            return real(*args, **kwargs)

        return spy

    monkeypatch.setattr(protocol.altcha, "hash_hex", counted(altcha.hash_hex, "hashes"))
    monkeypatch.setattr(protocol.altcha, "hmac_hex", counted(altcha.hmac_hex, "hashes"))
    monkeypatch.setattr(
        protocol.json, "loads", counted(json.loads, "json_chars", lambda text, *a: len(text))
    )
    return done


@pytest.mark.parametrize("payload", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_is_rejected_quickly(payload, work):
    assert verify_captcha(payload) is False
    assert work["hashes"] == 0  # no proof-of-work check, no signature check
    assert work["json_chars"] <= protocol.MAX_PAYLOAD_CHARS  # nothing parsed past the cap
    assert UsedChallenge.objects.count() == 0


def test_the_work_counter_sees_a_real_check(solved_payload, work):
    """The counter above would prove nothing if the checks bypassed it."""
    assert verify_captcha(solved_payload()) is True
    assert work["hashes"] == 2
    assert 0 < work["json_chars"] <= protocol.MAX_PAYLOAD_CHARS


@pytest.mark.parametrize("payload", [None, 12, b"bytes", ["list"], {"a": 1}])
def test_values_that_are_not_text_are_rejected(payload):
    assert verify_captcha(payload) is False  # type: ignore[arg-type]


def test_redemption_stores_a_keyed_digest_only(solved_payload):
    payload = solved_payload()
    signature = json.loads(base64.b64decode(payload))["signature"]
    assert verify_captcha(payload) is True
    row = UsedChallenge.objects.get()
    assert signature not in row.digest and row.digest not in payload
    assert len(row.digest) == 64


def test_redeemed_challenges_are_purged_by_the_worker_once_long_expired(clock, solved_payload):
    assert verify_captcha(solved_payload()) is True
    clock.advance(minutes=14)  # expired, but within the purge grace: kept
    assert verify_captcha(solved_payload()) is True
    deliver_due()  # the worker's turn
    assert UsedChallenge.objects.count() == 2
    clock.advance(minutes=2)  # the first is now 16 minutes old: 10 + 5 grace passed
    assert verify_captcha(solved_payload()) is True
    assert UsedChallenge.objects.count() == 3  # a redemption purges nothing itself
    deliver_due()
    assert UsedChallenge.objects.count() == 2


def test_challenge_has_the_documented_shape_and_difficulty():
    challenge = issue_challenge()
    assert set(challenge) == {"algorithm", "challenge", "maxNumber", "salt", "signature"}
    assert challenge["algorithm"] == "SHA-256"
    assert challenge["maxNumber"] == protocol.MAX_NUMBER
    assert protocol._SALT.fullmatch(challenge["salt"])
    assert issue_challenge()["challenge"] != challenge["challenge"]
