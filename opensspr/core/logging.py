"""Log formatting that cannot be used to forge lines.

JSON lines escape by construction. The text format escapes CR, LF and other
control characters so a user ID such as ``"bob\\r\\nINFO admin signed in"``
stays one visibly escaped record (ASVS 16.4.1). Neither formatter ever adds
request bodies: secrets only reach a log if code passes them, and the canary
tests prove no code path does.
"""

import json
import logging
from datetime import UTC, datetime

from opensspr.core.middleware import correlation_id_var

_CONTROL = {i: f"\\x{i:02x}" for i in range(32)} | {127: "\\x7f"}
_CONTROL |= {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}


def escape_controls(text: str) -> str:
    return text.translate(_CONTROL)


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id_var.get()
        return True


class SafeTextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "correlation_id"):
            record.correlation_id = "-"
        return escape_controls(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": getattr(record, "correlation_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
