"""What a password check returns: every failed rule, each with a stable code.

Codes are part of the product's contract (forms, API responses, audit
reasons); messages are lazy translations, rendered in whatever language is
active when they are turned into text. Neither ever contains the password.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.utils.functional import Promise


class FailureCode(StrEnum):
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    DISALLOWED_CHARACTER = "disallowed_character"
    TOO_SIMPLE = "too_simple"
    SAME_AS_CURRENT = "same_as_current"
    COMMON_PASSWORD = "common_password"  # noqa: S105 - a reason code, not a password
    BANNED_GLOBAL = "banned_global"
    BANNED_CUSTOM = "banned_custom"
    CONTEXT_WORD = "context_word"


@dataclass(frozen=True)
class RuleFailure:
    code: str
    message: str | Promise

    def __str__(self) -> str:
        return str(self.message)


@dataclass(frozen=True)
class PasswordVerdict:
    accepted: bool
    failures: tuple[RuleFailure, ...] = ()

    @classmethod
    def from_failures(cls, failures: list[RuleFailure]) -> "PasswordVerdict":
        """How the rules build a verdict, so ``accepted`` can't disagree with ``failures``."""
        return cls(accepted=not failures, failures=tuple(failures))

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(failure.code for failure in self.failures)
