"""The "NIST 800-63B-4" profile (security bar §1.6, N-1 to N-3).

Length is the only strength rule: at least the configured minimum (15 by
default, never below 8 or above 64), at most 256, every Unicode code point
counting as one character. No composition or character-class rules. The
password is refused as a *whole string* when it (normalised) is a common
password or a banned term, and as a *substring* when it contains a context
word of 4+ characters: the user's names and display-name words, the local
part of the user ID, the organisation name and the product name (ASVS
6.1.2 / 6.2.11 list display-name parts too, so they are included here).

The password itself is never normalised for storage or writeback; only the
comparisons use the normalised form (security bar N-5 project note).
"""

from opensspr.policy.passwords import lists, messages
from opensspr.policy.passwords.context import (
    PRODUCT_NAME,
    PasswordContext,
    name_terms,
    user_id_local_part,
)
from opensspr.policy.passwords.current import is_same_as_current
from opensspr.policy.passwords.normalise import normalise
from opensspr.policy.passwords.verdict import FailureCode, RuleFailure

MAX_LENGTH = 256


def nist_failures(password: str, context: PasswordContext) -> list[RuleFailure]:
    failures: list[RuleFailure] = []
    minimum = context.effective_nist_min_length
    if len(password) < minimum:
        failures.append(messages.too_short(minimum))
    if len(password) > MAX_LENGTH:
        failures.append(messages.too_long(MAX_LENGTH))
    if is_same_as_current(password, context):
        failures.append(messages.failure(FailureCode.SAME_AS_CURRENT))
    if len(password) <= MAX_LENGTH:
        failures.extend(_blocklist_failures(password, context))
    return failures


def _blocklist_failures(password: str, context: PasswordContext) -> list[RuleFailure]:
    failures: list[RuleFailure] = []
    whole = normalise(password.strip())
    if password.lower().strip() in lists.common_passwords() or (
        whole in lists.common_passwords_normalised()
    ):
        failures.append(messages.failure(FailureCode.COMMON_PASSWORD))
    if whole in lists.global_terms():
        failures.append(messages.failure(FailureCode.BANNED_GLOBAL))
    if whole in lists.custom_index(context.custom_banned_terms).terms:
        failures.append(messages.failure(FailureCode.BANNED_CUSTOM))
    if any(word in normalise(password) for word in context_words(context)):
        failures.append(messages.failure(FailureCode.CONTEXT_WORD))
    return failures


def context_words(context: PasswordContext) -> frozenset[str]:
    """Normalised words a password may not contain under this profile."""
    return name_terms(
        context.given_name,
        context.surname,
        context.display_name,
        context.organisation_name,
        user_id_local_part(context.user_id),
        PRODUCT_NAME,
    )
