"""The entry point every password change and reset calls, and the profiles it picks from.

``check_password`` is pure: it reads only its arguments and the cached word
lists, and returns a verdict naming every rule that failed. Writing the
password, auditing the outcome and showing the messages are the caller's job.
"""

from collections.abc import Callable
from enum import StrEnum
from types import MappingProxyType

from opensspr.policy.passwords.cloud import cloud_failures
from opensspr.policy.passwords.context import PasswordContext
from opensspr.policy.passwords.nist import nist_failures
from opensspr.policy.passwords.verdict import PasswordVerdict, RuleFailure


class PasswordProfile(StrEnum):
    CLOUD = "cloud"
    NIST = "nist_800_63b_4"


_RULES: MappingProxyType[PasswordProfile, Callable[[str, PasswordContext], list[RuleFailure]]] = (
    MappingProxyType({PasswordProfile.CLOUD: cloud_failures, PasswordProfile.NIST: nist_failures})
)


def check_password(
    password: str, *, profile: PasswordProfile, context: PasswordContext
) -> PasswordVerdict:
    """Judge ``password`` under ``profile``; the verdict lists every failed rule, in rule order."""
    return PasswordVerdict.from_failures(_RULES[PasswordProfile(profile)](password, context))
