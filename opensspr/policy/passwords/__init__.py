"""The pure password-policy engine: every password change and reset is judged here.

Public API (the rest of the package is internal)::

    verdict = check_password(password, profile=PasswordProfile.CLOUD, context=context)
    if not verdict.accepted:
        show([failure.message for failure in verdict.failures])

Nothing here touches the database or logs; the only I/O is reading the
shipped word lists once per process (:mod:`.lists`).
"""

from opensspr.policy.passwords.banned import ACCEPT_SCORE, BannedScore, score_banned
from opensspr.policy.passwords.context import PasswordContext
from opensspr.policy.passwords.custom_terms import validate_custom_banned_terms
from opensspr.policy.passwords.describe import describe_policy
from opensspr.policy.passwords.normalise import SUBSTITUTIONS, normalise
from opensspr.policy.passwords.rules import PasswordProfile, check_password
from opensspr.policy.passwords.verdict import FailureCode, PasswordVerdict, RuleFailure

__all__ = [
    "ACCEPT_SCORE",
    "SUBSTITUTIONS",
    "BannedScore",
    "FailureCode",
    "PasswordContext",
    "PasswordProfile",
    "PasswordVerdict",
    "RuleFailure",
    "check_password",
    "describe_policy",
    "normalise",
    "score_banned",
    "validate_custom_banned_terms",
]
