"""The "cloud" profile: Entra ID's cloud password rules (reference §6.1 and §6.3).

8-256 characters from a fixed ASCII set, three of four character classes,
not the current password, not in Django's common-password list, and past
the banned-password check (:mod:`.banned`: a score of at least 5, and not
containing the user's own name).

Passwords over the maximum length skip the banned-password score: they are
rejected anyway, and scoring cost grows with length (a megabyte-long
"password" must not become a denial of service).
"""

import string

from opensspr.policy.passwords import lists, messages
from opensspr.policy.passwords.banned import score_banned
from opensspr.policy.passwords.context import PasswordContext
from opensspr.policy.passwords.current import is_same_as_current
from opensspr.policy.passwords.verdict import FailureCode, RuleFailure

MIN_LENGTH = 8
MAX_LENGTH = 256
MIN_CLASSES = 3
SYMBOLS = frozenset("@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<>")
CLASSES = (
    frozenset(string.ascii_lowercase),
    frozenset(string.ascii_uppercase),
    frozenset(string.digits),
    SYMBOLS,
)
ALLOWED = frozenset().union(*CLASSES, {" "})


def cloud_failures(password: str, context: PasswordContext) -> list[RuleFailure]:
    failures: list[RuleFailure] = []
    if len(password) < MIN_LENGTH:
        failures.append(messages.too_short(MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        failures.append(messages.too_long(MAX_LENGTH))
    characters = frozenset(password)
    if not characters <= ALLOWED:
        failures.append(messages.failure(FailureCode.DISALLOWED_CHARACTER))
    if sum(1 for group in CLASSES if characters & group) < MIN_CLASSES:
        failures.append(messages.failure(FailureCode.TOO_SIMPLE))
    if is_same_as_current(password, context):
        failures.append(messages.failure(FailureCode.SAME_AS_CURRENT))
    if password.lower().strip() in lists.common_passwords():
        failures.append(messages.failure(FailureCode.COMMON_PASSWORD))
    if len(password) <= MAX_LENGTH:
        failures.extend(_banned_failures(password, context))
    return failures


def _banned_failures(password: str, context: PasswordContext) -> list[RuleFailure]:
    """``banned_custom`` when the global list alone would have let the password through."""
    score = score_banned(password, context=context)
    if score.accepted:
        return []
    if score.blocked_by_custom:
        return [messages.failure(FailureCode.BANNED_CUSTOM)]
    return [messages.failure(FailureCode.BANNED_GLOBAL)]
