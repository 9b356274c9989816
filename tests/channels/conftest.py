"""Real servers on loopback for the delivery channels.

* ``smtp_server``: aiosmtpd, told to accept, or to answer 451 / 550 to DATA.
* ``twilio_api``: a stdlib HTTP server speaking the two Twilio REST endpoints we
  use (Messages.json, Calls.json) plus the account fetch, with basic auth, and
  429 / 500 / a held-back answer (timeout after the request arrived) on demand.
* ``sms_gateway``: a webhook receiver that checks our HMAC signature and
  deduplicates on the idempotency key, as the documented contract asks.

Every server records what it received, so tests count sends instead of
trusting our own bookkeeping.
"""

import base64
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller

from opensspr.channels.base import MessageKind, OutgoingMessage
from opensspr.channels.models import ChannelSettings
from opensspr.channels.providers.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from opensspr.core.crypto import seal

TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "twilio-test-auth-token-0123456789"
WEBHOOK_SECRET = "webhook-test-secret-0123456789abcdefghij"
SERVER_WAIT = 5.0  # seconds any fake server holds a request back at most


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- SMTP -----------------------------------------------------------------------------


class RecordingHandler:
    def __init__(self) -> None:
        self.reply = "250 OK"
        self.attempts = 0
        self.delivered: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        if self.reply.startswith("250"):
            self.delivered.append(
                {
                    "from": envelope.mail_from,
                    "to": list(envelope.rcpt_tos),
                    "data": envelope.content.decode("utf-8", "replace"),
                }
            )
        return self.reply


@dataclass
class SmtpServer:
    handler: RecordingHandler
    port: int

    def answer(self, reply: str) -> None:
        """'250 OK', '451 4.3.0 Try again later', '550 5.1.1 No such user'."""
        self.handler.reply = reply

    @property
    def delivered(self) -> list[dict[str, Any]]:
        return self.handler.delivered


def smtp_mailers(port: int) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "use_tls": False, "timeout": 5},
        }
    }


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[SmtpServer]:
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = smtp_mailers(port)
    try:
        yield SmtpServer(handler, port)
    finally:
        controller.stop()


# --- HTTP fakes -------------------------------------------------------------------------


@dataclass
class FakeHttp:
    """State shared with the handler thread: what arrived, and how to answer next."""

    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answered in order, then 2xx
    hold: threading.Event | None = None  # set: answer at once; unset: wait (client timeout)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def next_status(self) -> int | None:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else None

    def hold_answers(self) -> None:
        self.hold = threading.Event()

    def release(self) -> None:
        if self.hold is not None:
            self.hold.set()


@contextmanager
def serve(state: FakeHttp, handler_class: type[BaseHTTPRequestHandler]) -> Iterator[FakeHttp]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    server.daemon_threads = True
    server.state = state  # type: ignore[attr-defined]
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release()
        server.shutdown()
        server.server_close()
        thread.join(SERVER_WAIT)


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def state(self) -> FakeHttp:
        return self.server.state  # type: ignore[attr-defined]

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        hold = self.state.hold
        if hold is not None:
            hold.wait(SERVER_WAIT)
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


class TwilioHandler(_Handler):
    """POST .../Messages.json and .../Calls.json, GET /2010-04-01/Accounts/{sid}.json."""

    def _authorised(self) -> bool:
        expected = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        return self.headers.get("Authorization") == f"Basic {expected}"

    def do_GET(self) -> None:
        if not self._authorised():
            self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
            return
        self._answer(200, {"sid": TWILIO_SID, "status": "active"})

    def do_POST(self) -> None:
        form = {k: v[0] for k, v in parse_qs(self._body().decode()).items()}
        prefix = f"/2010-04-01/Accounts/{TWILIO_SID}/"
        resource = self.path.removeprefix(prefix)
        if not self.path.startswith(prefix) or resource not in {"Messages.json", "Calls.json"}:
            self._answer(404, {"code": 20404, "message": "Not found", "status": 404})
            return
        if not self._authorised():
            self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
            return
        with self.state.lock:
            self.state.requests.append({"resource": resource, "form": form})
            number = len(self.state.requests)
        status = self.state.next_status()
        if status is not None and status >= 400:
            code = {429: 20429, 400: 21211}.get(status, 20500)
            self._answer(status, {"code": code, "message": "fake error", "status": status})
            return
        sid = ("SM" if resource == "Messages.json" else "CA") + f"{number:032x}"
        self._answer(201, {"sid": sid, "account_sid": TWILIO_SID, "status": "queued"})


class GatewayHandler(_Handler):
    """A customer's SMS gateway: verifies the signature, drops duplicate keys."""

    def do_POST(self) -> None:
        raw = self._body()
        timestamp = self.headers.get(TIMESTAMP_HEADER, "")
        signed = verify_signature(
            WEBHOOK_SECRET, timestamp, raw, self.headers.get(SIGNATURE_HEADER, "")
        )
        payload = json.loads(raw) if signed else {}
        with self.state.lock:
            self.state.requests.append({"signed": signed, "payload": payload, "ts": timestamp})
            keys = [r["payload"].get("idempotency_key") for r in self.state.requests if r["signed"]]
        if not signed:
            self._answer(401, {"error": "bad signature"})
            return
        status = self.state.next_status()
        if status is not None:
            self._answer(status, {"error": "fake"})
            return
        duplicate = keys.count(payload["idempotency_key"]) > 1
        self._answer(200, {"id": f"gw-{len(keys)}", "duplicate": duplicate})


@dataclass
class SmsGateway(FakeHttp):
    def unique_deliveries(self) -> list[dict[str, Any]]:
        seen: dict[str, dict[str, Any]] = {}
        for r in self.requests:
            if r["signed"]:
                seen.setdefault(r["payload"]["idempotency_key"], r["payload"])
        return list(seen.values())


@pytest.fixture
def twilio_api(settings: Any) -> Iterator[FakeHttp]:
    with serve(FakeHttp(), TwilioHandler) as state:
        settings.OPENSSPR_TWILIO_API_URL = state.url
        settings.OPENSSPR_PROVIDER_TIMEOUT = 1.0
        yield state


@pytest.fixture
def sms_gateway(settings: Any) -> Iterator[SmsGateway]:
    with serve(SmsGateway(), GatewayHandler) as state:
        settings.OPENSSPR_PROVIDER_TIMEOUT = 1.0
        yield state


# --- configuration and messages ---------------------------------------------------------


@pytest.fixture
def configure(db: Any) -> Callable[..., ChannelSettings]:
    """Store channel settings the way the console would (secrets sealed)."""

    def apply(
        *,
        email: str = "outbox",
        sms: str = "outbox",
        voice: str = "outbox",
        twilio: bool = False,
        webhook_url: str = "",
    ) -> ChannelSettings:
        config, _ = ChannelSettings.objects.get_or_create(pk=1)
        config.email_channel, config.sms_channel, config.voice_channel = email, sms, voice
        if twilio:
            config.twilio_account_sid = TWILIO_SID
            config.twilio_auth_token_sealed = seal(TWILIO_TOKEN)
            config.twilio_sms_from = "+15005550006"
            config.twilio_voice_from = "+15005550007"
        if webhook_url:
            config.webhook_url = webhook_url
            config.webhook_secret_sealed = seal(WEBHOOK_SECRET)
        config.full_clean()
        config.save()
        return config

    return apply


@pytest.fixture
def worker_mode(settings: Any) -> None:
    settings.OPENSSPR_DELIVERY_MODE = "worker"


_counter = iter(range(1, 1_000_000))


def outgoing(kind: MessageKind = MessageKind.EMAIL, **fields: Any) -> OutgoingMessage:
    n = next(_counter)
    defaults: dict[str, Any] = {
        MessageKind.EMAIL: {
            "to": f"person{n}@mail.example",
            "subject": "Your verification code",
            "body": f"Your code is {100000 + n}.",
        },
        MessageKind.SMS: {"to": "+31612345678", "body": f"Code: {100000 + n}"},
        MessageKind.VOICE: {
            "to": "+31612345678",
            "voice_prompt": "This is Contoso confirming your password reset.",
            "voice_callback_token": f"voice-token-{n:08d}-abcdefgh",
        },
    }[kind]
    return OutgoingMessage(
        kind=kind,
        purpose=fields.pop("purpose", "reset.code"),
        idempotency_key=fields.pop("idempotency_key", f"test:{n}"),
        **(defaults | fields),
    )


def expiring(now: datetime, **delta: float) -> datetime:
    from datetime import timedelta

    return now + timedelta(**delta)
