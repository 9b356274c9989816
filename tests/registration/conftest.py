"""Security-info helpers: one open policy, codes read from the outbox, a proven session.

Not autouse: ``test_admin_services.py`` shares this folder and sets its own policy.
"""

import re
from typing import Any

import pytest

from opensspr.accounts.models import User
from opensspr.core.request_meta import RequestMeta
from opensspr.policy.kinds import MethodKind
from opensspr.registration import identity
from tests.conftest import delivered, open_reset_policy, past_the_send_cooldown

SESSION = "session-digest-for-tests"
MOBILE = "+31612345678"
NEW_MOBILE = "+31687654321"
OFFICE = "+31205550102"


@pytest.fixture
def open_policy(db: Any) -> None:
    open_reset_policy()


def code_for(recipient: str) -> str:
    """The code in the newest message to ``recipient``."""
    message = delivered(recipient=recipient).first()
    assert message is not None, f"nothing was delivered to {recipient}"
    return re.search(r"\b(\d{6,8})\b", message.plaintext_body()).group(1)


def voice_token_for(recipient: str) -> str:
    message = delivered(recipient=recipient, kind="voice").first()
    assert message is not None, f"no call was placed to {recipient}"
    return message.plaintext_voice_token()


def prove_by_email(user: User, meta: RequestMeta, session: str = SESSION) -> None:
    """Pass a fresh identity proof with the user's authentication email (a minute on)."""
    past_the_send_cooldown()
    identity.start_identity_proof(user=user, session=session, kind=MethodKind.EMAIL, meta=meta)
    identity.finish_identity_proof(
        user=user, session=session, answer=code_for(user.auth_email), meta=meta
    )
