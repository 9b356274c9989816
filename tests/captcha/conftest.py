"""Captcha fixtures: solving a challenge the way a browser would, with the
``altcha`` package's own solver, and packing the payload our widget sends."""

import base64
import json
from collections.abc import Callable
from typing import Any

import altcha
import pytest

from opensspr.captcha.services import issue_challenge


def solve(challenge: dict[str, Any]) -> int:
    found = altcha.solve_challenge_v1(
        challenge["challenge"], challenge["salt"], challenge["algorithm"], challenge["maxNumber"]
    )
    assert found is not None, "the solver found no number: the challenge is not solvable"
    return found.number


def pack(fields: dict[str, Any]) -> str:
    """Base64 of the JSON, exactly as captcha.js builds it (btoa(JSON.stringify(...)))."""
    return base64.b64encode(json.dumps(fields, separators=(",", ":")).encode()).decode()


def payload_fields(challenge: dict[str, Any]) -> dict[str, Any]:
    return {
        "algorithm": challenge["algorithm"],
        "challenge": challenge["challenge"],
        "number": solve(challenge),
        "salt": challenge["salt"],
        "signature": challenge["signature"],
    }


@pytest.fixture
def solved_payload() -> Callable[[], str]:
    """A fresh challenge from ``issue_challenge``, solved and packed."""

    def make() -> str:
        return pack(payload_fields(dict(issue_challenge())))

    return make
