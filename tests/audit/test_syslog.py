"""The RFC 5424 writer on its own: header fields, SD escaping, framing, UDP size."""

import json
from datetime import UTC, datetime, timedelta, timezone

from opensspr.audit import syslog
from tests.audit.receivers import parse_rfc5424, split_octet_counted

ORIGIN = syslog.Origin(facility=10, hostname="sspr-1.example.org", procid="4242")
MOMENT = datetime(2026, 11, 23, 10, 0, 1, 250000, tzinfo=timezone(timedelta(hours=1)))


def _message(**overrides: object) -> bytes:
    fields: dict = {
        "origin": ORIGIN,
        "severity": syslog.Severity.NOTICE,
        "moment": MOMENT,
        "msgid": "signin.failed",
        "params": {"eventID": "7"},
        "payload": {"activity": "signin.failed", "details": {}},
    }
    return syslog.format_message(**(fields | overrides))


def test_the_header_has_every_rfc5424_field_in_order():
    parsed = parse_rfc5424(_message())
    assert parsed.pri == 10 * 8 + 5
    assert parsed.version == "1"
    assert parsed.timestamp == "2026-11-23T09:00:01.250000Z"  # in UTC, whatever the zone
    assert (parsed.hostname, parsed.app_name, parsed.procid) == (
        "sspr-1.example.org",
        "opensspr",
        "4242",
    )
    assert parsed.msgid == "signin.failed"
    assert (parsed.sd_id, parsed.params) == ("opensspr@32473", {"eventID": "7"})
    assert parsed.payload == {"activity": "signin.failed", "details": {}}
    assert not parsed.msg.startswith(b"\xef\xbb\xbf")  # no BOM


def test_sd_values_are_escaped_and_read_back_unchanged():
    nasty = 'a "quoted" value] with \\ backslash'
    message = _message(params={"eventID": "1", "note": nasty})
    assert b'note="a \\"quoted\\" value\\] with \\\\ backslash"' in message
    assert parse_rfc5424(message).params["note"] == nasty


def test_header_fields_keep_only_printable_ascii_and_their_length():
    assert syslog.header_field("host name é", 255) == "hostname"
    assert syslog.header_field("", 48) == "-"
    assert syslog.header_field("x" * 40, 32) == "x" * 32
    parsed = parse_rfc5424(_message(msgid="registration.a_very_long_activity_name"))
    assert len(parsed.msgid) == 32


def test_the_payload_is_utf8_json_not_escaped_ascii():
    message = _message(payload={"target": "Zoë Ünal", "details": {}})
    assert "Zoë Ünal".encode() in message
    assert parse_rfc5424(message).payload["target"] == "Zoë Ünal"


def test_octet_counting_frames_any_payload_even_with_newlines():
    first = _message(payload={"details": {"note": "line one\nline two"}})
    second = _message(msgid="reset.completed")
    stream = syslog.octet_counted(first) + syslog.octet_counted(second)
    assert stream.startswith(f"{len(first)} ".encode())
    assert split_octet_counted(stream) == [first, second]


def test_a_datagram_too_large_loses_its_details_first_and_says_so():
    payload = {
        "activity": "console.object_changed",
        "user_agent": "curl",
        "details": {"n": "x" * 5000},
    }
    message = _message(payload=payload, max_bytes=syslog.UDP_MAX_BYTES)
    assert len(message) <= syslog.UDP_MAX_BYTES
    assert parse_rfc5424(message).payload == {
        "activity": "console.object_changed",
        "user_agent": "curl",
        "details": {},
        "truncated": True,
    }


def test_a_datagram_still_too_large_cuts_the_longest_text_and_stays_valid_json():
    payload = {"user_agent": "é" * 1500, "actor": "a" * 256, "details": {"n": 1}}
    message = _message(payload=payload, max_bytes=syslog.UDP_MAX_BYTES)
    assert len(message) <= syslog.UDP_MAX_BYTES
    received = parse_rfc5424(message).payload
    assert received["truncated"] is True and received["actor"] == "a" * 256
    assert "é" * 100 in received["user_agent"] and len(received["user_agent"]) < 1500


def test_a_small_message_is_never_touched_by_the_size_limit():
    plain = _message()
    assert _message(max_bytes=syslog.UDP_MAX_BYTES) == plain
    assert json.loads(plain.split(b"] ", 1)[1]) == {"activity": "signin.failed", "details": {}}


def test_destinations_read_back_as_written():
    destination = syslog.Destination.parse("tls://siem.example.org:6514")
    assert (destination.transport, destination.host, destination.port) == (
        "tls",
        "siem.example.org",
        6514,
    )
    assert str(syslog.Destination.parse("udp://[::1]:514")) == "udp://[::1]:514"
    assert syslog.timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == (
        "2026-01-02T03:04:05.000000Z"
    )
