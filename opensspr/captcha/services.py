"""Issue captcha challenges and redeem solutions, each at most once.

``issue_challenge`` is stateless: the challenge is signed, not stored.
``verify_captcha`` accepts a solution only if the proof of work checks out
(``protocol``) *and* its challenge was never redeemed before, in any process:
redeeming inserts a keyed digest of the challenge's signature into
:class:`UsedChallenge`, whose unique constraint lets exactly one of any number
of concurrent redemptions succeed (the TGCaptcha2 CVE-2016-1000032 replay).
There is no way to skip the check: no parameter, no setting, no debug switch.

Redemptions are bookkeeping, not events a person or an administrator acts on,
so they are not audited; a replay attempt is logged (without the payload).
"""

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from opensspr.captcha import protocol
from opensspr.captcha.models import UsedChallenge
from opensspr.core import clock
from opensspr.core.crypto import keyed_digest

logger = logging.getLogger(__name__)

# Rows outlive their challenge by this much before they are purged, so an app
# server whose clock runs behind still finds the row of a challenge it would
# (by its own clock) accept as unexpired.
PURGE_GRACE = timedelta(minutes=5)


def issue_challenge() -> protocol.ChallengeJson:
    """A fresh signed challenge, as JSON-ready data for the widget."""
    return protocol.new_challenge()


def verify_captcha(payload: str) -> bool:
    """True once for a correct, unexpired solution to one of our challenges.

    Never raises on what the client sent (malformed, oversized, forged, expired
    or replayed input is simply ``False``); database outages do raise, so a
    caller fails closed.
    """
    now = clock.now()
    solution = protocol.check_payload(payload, now=now)
    if solution is None:
        return False
    digest = keyed_digest("captcha.used", solution.signature)
    try:
        with transaction.atomic():
            UsedChallenge.objects.create(digest=digest, expires_at=solution.expires_at)
    except IntegrityError:
        logger.warning("captcha solution replayed; rejected")
        return False
    _purge_expired(now)
    return True


def _purge_expired(now: datetime) -> None:
    UsedChallenge.objects.filter(expires_at__lt=now - PURGE_GRACE).delete()
