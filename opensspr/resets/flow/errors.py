"""What a step of the flow raises: a public ``code`` picks the message the person sees."""

from typing import TYPE_CHECKING

from opensspr.policy.passwords import RuleFailure

if TYPE_CHECKING:
    from opensspr.resets.flow.view import FlowView


class FlowError(Exception):
    """A step that can't be taken; ``code`` picks the message the person sees.

    ``tries_left``: after a wrong code or answer, how many more the person may get
    wrong before that way to verify is blocked for this user ID (the same for every ID).
    ``retry_after``: seconds to wait before the next try (a short pause after wrong
    answers in a row); the flow goes on meanwhile.
    """

    def __init__(
        self, code: str, *, tries_left: int | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(code)
        self.code = code
        self.tries_left = tries_left
        self.retry_after = retry_after


class FlowBlockedError(FlowError):
    """The throttle (or a recheck) ended the flow; carries the final view to show."""

    def __init__(self, final: "FlowView", code: str = "throttled") -> None:
        super().__init__(code)
        self.view = final


class PasswordRejectedError(FlowError):
    """The new password failed a rule; the flow stays verified (``view``)."""

    def __init__(self, final: "FlowView", failures: tuple[RuleFailure, ...], code: str) -> None:
        super().__init__(code)
        self.view = final
        self.failures = failures
