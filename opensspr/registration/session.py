"""What a browser session holds for security info: an opaque handle and the interrupt.

Proofs are bound to the session through a keyed digest of a random handle, so a
proof made in one browser is worthless in another, and signing out (which
flushes the session) ends every proof at once. The handle is replaced at each
sign-in: a proof never outlives the sign-in it was made in. The interrupt entry
holds only where to go afterwards and why the person was interrupted; no code,
answer or secret is ever kept here (STYLE.md principle 3).
"""

import secrets
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.sessions.backends.base import SessionBase

from opensspr.core.crypto import keyed_digest

_KEY = "opensspr_security_info"


class InterruptMode(StrEnum):
    REGISTER = "register"  # not enough methods yet (reference §8.1)
    RECONFIRM = "reconfirm"  # time to confirm what is registered (§8.4)


@dataclass(frozen=True)
class Interrupt:
    mode: InterruptMode
    next_url: str  # where sign-in was going; already checked by ``signin.views.safe_next``


def _state(session: SessionBase) -> dict[str, str]:
    state = session.get(_KEY)
    return dict(state) if isinstance(state, dict) else {}


def session_digest(session: SessionBase) -> str:
    """The digest proofs of this session are stored under; creates the handle if needed."""
    state = _state(session)
    if not state.get("handle"):
        state["handle"] = secrets.token_urlsafe(32)
        session[_KEY] = state
    return keyed_digest("registration-session", state["handle"])


def start_new_session(session: SessionBase, interrupt: Interrupt | None) -> str:
    """A fresh handle (and interrupt) for a new sign-in; returns the new digest."""
    state = {"handle": secrets.token_urlsafe(32)}
    if interrupt is not None:
        state |= {"mode": interrupt.mode.value, "next": interrupt.next_url}
    session[_KEY] = state
    return keyed_digest("registration-session", state["handle"])


def get_interrupt(session: SessionBase) -> Interrupt | None:
    state = _state(session)
    try:
        mode = InterruptMode(state.get("mode", ""))
    except ValueError:
        return None
    return Interrupt(mode, state.get("next") or "/")


def end_interrupt(session: SessionBase) -> None:
    state = _state(session)
    state.pop("mode", None)
    state.pop("next", None)
    session[_KEY] = state
