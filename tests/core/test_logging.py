"""Log lines can't be forged and carry the request's correlation id."""

import json
import logging

import pytest

from opensspr.core.logging import JsonFormatter, RequestContextFilter, SafeTextFormatter
from opensspr.core.middleware import correlation_id_var


def _record(message: str, *args: object) -> logging.LogRecord:
    record = logging.LogRecord("opensspr.test", logging.WARNING, __file__, 1, message, args, None)
    RequestContextFilter().filter(record)
    return record


def test_text_format_escapes_line_breaks_and_terminal_escapes():
    forged = "bob\r\n2026-11-23 INFO opensspr admin signed in\x1b[2J"
    line = SafeTextFormatter().format(_record("sign-in failed for %s", forged))
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert "bob\\r\\n2026-11-23 INFO" in line and "\\x1b[2J" in line


def test_json_format_is_one_parsable_line_with_the_correlation_id():
    token = correlation_id_var.set("abc123")
    try:
        line = JsonFormatter().format(_record("user %s", "x\ny"))
    finally:
        correlation_id_var.reset(token)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "user x\ny"
    assert entry["correlation_id"] == "abc123"
    assert entry["level"] == "WARNING" and entry["logger"] == "opensspr.test"


@pytest.mark.django_db
def test_requests_log_with_their_correlation_id(client, caplog):
    caplog.set_level(logging.WARNING, logger="django.security.csrf")
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/signin", {"user_id": "a", "password": "b"})
    record = next(r for r in caplog.records if r.name == "django.security.csrf")
    assert record.correlation_id == response["X-Request-ID"]
