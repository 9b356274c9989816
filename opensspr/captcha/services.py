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

from django.db import connections, router

from opensspr.captcha import protocol
from opensspr.captcha.models import UsedChallenge
from opensspr.core import clock
from opensspr.core.crypto import keyed_digest

logger = logging.getLogger(__name__)

# Rows outlive their challenge by this much before they are purged, so an app
# server whose clock runs behind the purging process's (the worker's, often on
# another host) still finds the row of a challenge it would, by its own clock,
# accept as unexpired. Keep the hosts' clocks within this of each other (NTP).
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
    if not _redeem(digest, solution.expires_at):
        logger.warning("captcha solution replayed; rejected")
        return False
    return True


def _redeem(digest: str, expires_at: datetime) -> bool:
    """Insert the row unless its digest is there; True when this call inserted it.

    One statement, and no savepoint around it (a failed insert would need one to
    roll back to): of any number of concurrent redemptions the unique constraint
    still lets exactly one insert, and the others find the row and insert nothing.
    """
    db = connections[router.db_for_write(UsedChallenge)]
    q = db.ops.quote_name
    field = UsedChallenge._meta.get_field("expires_at")
    sql = (
        f"INSERT INTO {q(UsedChallenge._meta.db_table)} ({q('digest')}, {q('expires_at')}) "  # noqa: S608  # quoted names only
        f"VALUES (%s, %s) ON CONFLICT ({q('digest')}) DO NOTHING RETURNING {q('id')}"
    )
    with db.cursor() as cursor:
        cursor.execute(sql, [digest, field.get_db_prep_value(expires_at, db)])
        return cursor.fetchone() is not None


def purge_expired() -> None:
    """The worker's periodic call (``channels.register_due_work``): forget long-expired rows.

    Not done on each redemption, where it was one more statement in every reset's
    first step: the expiry check rejects an old challenge without its row, so the
    rows only need to go some time after, and the worker's turn comes every second.
    """
    UsedChallenge.objects.filter(expires_at__lt=clock.now() - PURGE_GRACE).delete()
