"""Subject keys shared with code that stored them before this app existed.

``ResetFlow.subject`` holds ``typed_user_id(identifier_key)`` (the value
``resets.throttles.subject_key`` made), so flows and console blocks keep
passing the same key when the reset flow moves to ``throttles.service``.
"""

from opensspr.core.crypto import keyed_digest


def typed_user_id(identifier_key: str) -> str:
    """The §5.1 subject of a typed user ID: a keyed digest, never the ID itself."""
    return keyed_digest("sspr-throttle", identifier_key)
