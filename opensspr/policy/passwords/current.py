"""The one rule both profiles share: a changed password must be new."""

import hmac

from opensspr.policy.passwords.context import PasswordContext


def is_same_as_current(password: str, context: PasswordContext) -> bool:
    """Constant-time comparison, so response timing says nothing about the current password.

    Only set on a change: a reset has no current password to compare with
    (reference §6.1, reset history).
    """
    if context.current_password is None:
        return False
    return hmac.compare_digest(password.encode("utf-8"), context.current_password.encode("utf-8"))
