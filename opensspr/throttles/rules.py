"""The table of every rate limit: who is counted, how many uses, over what window, what then.

A rule is data. Numbers an operator may tune name their setting (``Setting``)
and are read at each use, so a changed setting applies at once. Rules sharing a
``Scope`` share one subject row per key: a penalty set by any of them blocks
them all, and ``clear`` forgets them all (reference §5.1: "over any of them,
the user ID is blocked"). ``durable`` says the count must survive losing the
cache (security-bar F12): durable rules are kept in the database whatever
``REDIS_URL`` says (docs/adr/0004-throttle-stores.md).

The human-readable table is docs/contributors/throttles.md; a test keeps the
two in step.
"""

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from opensspr.throttles.penalties import (
    Backoff,
    Block,
    Number,
    Pauses,
    Penalty,
    Setting,
    resolve,
)

__all__ = [
    "Backoff",
    "Block",
    "KeyKind",
    "Number",
    "Pauses",
    "Penalty",
    "Rule",
    "Scope",
    "Setting",
    "resolve",
]


class Scope(StrEnum):
    """Rules of one scope share a subject: one block, one ``clear``."""

    SSPR = "sspr"
    SSPR_FLOW = "sspr.flow"
    SSPR_PER_ADDRESS = "sspr.per_address"
    HELP_RECIPIENT = "help.recipient"
    REGISTRATION = "registration"
    PHONE_PER_ADDRESS = "phone.per_address"
    PHONE_GLOBAL = "phone.global"
    SIGNIN_PER_ADDRESS = "signin.per_address"
    SIGNIN_LOCKOUT = "signin.lockout"
    DESTINATION = "destination"
    AGENT_ENROLMENT = "agent.enrolment"


class KeyKind(StrEnum):
    """What the caller passes as the subject key (stored only as a keyed digest)."""

    TYPED_USER_ID = "the typed user ID (subjects.typed_user_id), known account or not"
    TYPED_USER_ID_AND_NETWORK = "the typed user ID, familiar networks apart (lockout_key)"
    FLOW = "one reset flow (its primary key)"
    PERSON = "the signed-in person (user primary key)"
    CLIENT_ADDRESS = "the client IP address"
    SERVICE = "the whole service (one key)"
    DESTINATION = "where a code or call goes (challenges.destination_key), whoever asks"


@dataclass(frozen=True)
class Rule:
    """One limit. ``limit`` uses per ``window``; over it, ``penalty`` (or just "not now").

    ``quiet_reset``: the window runs from the last use, not back from now: the
    count starts afresh only after ``window`` without a use (smart lockout's
    quiet day), so it stays at the limit after a penalty ends. ``distinct``:
    this many last fingerprints are remembered and a repeat is not counted
    again (the same wrong password retyped).
    """

    name: str
    scope: Scope
    key: KeyKind
    limit: Number
    window: timedelta
    penalty: Penalty
    durable: bool
    reason: str
    quiet_reset: bool = False
    distinct: int = 0

    def max_uses(self) -> int:
        return resolve(self.limit)

    def penalty_seconds(self) -> tuple[int, int]:
        """(first, cap) of the penalty in seconds; (0, 0) when the rule has none."""
        if isinstance(self.penalty, Block):
            seconds = int(self.penalty.duration.total_seconds())
            return seconds, seconds
        if isinstance(self.penalty, Backoff):
            return resolve(self.penalty.first_seconds), resolve(self.penalty.cap_seconds)
        if isinstance(self.penalty, Pauses):
            first = min((pause for _used, pause in self.penalty.after), default=self.window)
            return int(first.total_seconds()), int(self.window.total_seconds())
        return 0, 0

    def final(self, used: int | None) -> bool:
        """The ``used``-th failure in the window is the last the window allows."""
        return used is not None and used >= self.max_uses()

    def penalty_for(self, level: int) -> timedelta | None:
        """How long the ``level``-th penalty in a row lasts (level 1 is the first)."""
        first, cap = self.penalty_seconds()
        if not first:
            return None
        return timedelta(seconds=min(first * 2 ** max(level - 1, 0), cap))


HOUR = timedelta(hours=1)
SSPR_BLOCK = Block(timedelta(hours=24))


def _sspr(
    name: str,
    limit: int,
    window: timedelta,
    reason: str,
    *,
    key: KeyKind = KeyKind.TYPED_USER_ID,
    penalty: Penalty = SSPR_BLOCK,
) -> Rule:
    """A reference §5.1 rule: per typed user ID, durable; by default over it blocked for 24 h."""
    return Rule(
        name=f"sspr.{name}",
        scope=Scope.SSPR,
        key=key,
        limit=limit,
        window=window,
        penalty=penalty,
        durable=True,
        reason=f"§5.1: {reason}",
    )


def _registration(name: str, limit: int, window: timedelta, reason: str) -> Rule:
    """Registration's own counts per person: over them "not now", no block."""
    return Rule(
        name=f"registration.{name}",
        scope=Scope.REGISTRATION,
        key=KeyKind.PERSON,
        limit=limit,
        window=window,
        penalty=None,
        durable=True,
        reason=reason,
    )


# --- Self-service reset and unlock (reference §5.1), per typed user ID -------------
#: Short and growing: the 3rd wrong answer in a day pauses that way 30 seconds, the 4th 2
#: minutes; the 5th blocks it until the oldest of the five is a day old (A21; NIST SP
#: 800-63B-4 asks for waits between failures). Both pauses together stay inside a code's
#: 5 minutes, so the person waits and types the same code again.
VERIFY_PAUSES = Pauses(((3, timedelta(seconds=30)), (4, timedelta(minutes=2))))
SSPR_VERIFY_FAILURE = _sspr(
    "verify_failure",
    5,
    timedelta(hours=24),
    "guessing codes and answers; reserved before the answer is compared. The 3rd "
    "failure pauses that way 30 s, the 4th 2 min, the 5th blocks it until the window "
    "frees (short and growing). Familiar networks count apart (§5.4's idea): guesses "
    "from elsewhere can't block the person at home (A21); at most 10 a day",
    key=KeyKind.TYPED_USER_ID_AND_NETWORK,
    penalty=VERIFY_PAUSES,
)
# Sends reach the person's own phone or inbox, so only someone who knows it can spend them;
# over the budget nothing more is sent until the window frees (never a day-long block, A21).
SSPR_SMS = _sspr("sms", 5, HOUR, "texts flood a phone and cost money", penalty=None)
SSPR_CALL = _sspr("call", 5, HOUR, "calls flood a phone and cost money", penalty=None)
SSPR_QUESTIONS = _sspr("questions", 5, HOUR, "each set of answers is a guess")
SSPR_EMAIL = _sspr("email", 10, timedelta(minutes=10), "emails flood an inbox", penalty=None)
# A typed address or number that doesn't match is counted per flow and per client address,
# never against the person: six wrong numbers must not lock anyone out (A21).
SSPR_CONTACT_CHECKS_PER_FLOW = Rule(
    name="sspr.flow.contact_checks",
    scope=Scope.SSPR_FLOW,
    key=KeyKind.FLOW,
    limit=3,
    window=timedelta(minutes=15),
    penalty=None,
    durable=True,
    reason="each typed address or number tests a guess of the person's contact; over "
    "three, the flow ends and a new one needs the captcha again",
)
SSPR_CONTACT_CHECKS_PER_ADDRESS = Rule(
    name="sspr.per_address.contact_checks",
    scope=Scope.SSPR_PER_ADDRESS,
    key=KeyKind.CLIENT_ADDRESS,
    limit=20,
    window=HOUR,
    penalty=None,
    durable=True,
    reason="guessing contacts across many flows from one address",
)
SSPR_HELP_PER_ADDRESS = Rule(
    name="sspr.per_address.help_requests",
    scope=Scope.SSPR_PER_ADDRESS,
    key=KeyKind.CLIENT_ADDRESS,
    limit=10,
    window=HOUR,
    penalty=None,
    durable=True,
    reason="'contact your administrator' asked from one address (one per flow besides)",
)
# "I have none of these": a request into the helpdesk's queue. Counted for every typed ID,
# known or not, so being throttled says nothing about the ID (A1); one open request per
# person besides, so more asks only repeat the answer.
SSPR_RECOVERY = _sspr(
    "recovery_requests",
    3,
    timedelta(hours=24),
    "recovery requests fill the helpdesk's queue",
    penalty=None,
)
SSPR_RECOVERY_PER_ADDRESS = Rule(
    name="sspr.per_address.recovery_requests",
    scope=Scope.SSPR_PER_ADDRESS,
    key=KeyKind.CLIENT_ADDRESS,
    limit=10,
    window=HOUR,
    penalty=None,
    durable=True,
    reason="recovery requests for many user IDs from one address flood the queue",
)
HELP_EMAILS_PER_RECIPIENT = Rule(
    name="help.recipient.emails",
    scope=Scope.HELP_RECIPIENT,
    key=KeyKind.PERSON,
    limit=10,
    window=HOUR,
    penalty=None,
    durable=True,
    reason="one administrator's inbox flooded with help requests (A5); past it, a digest",
)

# --- Security-info registration, per person -----------------------------------------
REGISTRATION_EMAIL = _registration(
    "email", 10, timedelta(minutes=10), "§5.1's email budget applied to registration"
)
REGISTRATION_SMS = _registration("sms", 5, HOUR, "§5.1's text budget applied to registration")
REGISTRATION_CALL = _registration(
    "call", 5, HOUR, "§5.1's call budget applied to registration (mobile and office alike)"
)
REGISTRATION_WRONG_CODE = _registration(
    "wrong_code", 10, HOUR, "guessing proof codes; reserved before the code is compared"
)

# --- Money: texts and calls, whoever asks (attack A4) ------------------------------
PHONE_PER_ADDRESS = Rule(
    name="phone.per_address",
    scope=Scope.PHONE_PER_ADDRESS,
    key=KeyKind.CLIENT_ADDRESS,
    limit=Setting("OPENSSPR_PHONE_BUDGET_PER_IP"),
    window=HOUR,
    penalty=None,
    durable=True,
    reason="SMS pumping from one address; a budget counter (F12), so durable",
)
PHONE_GLOBAL = Rule(
    name="phone.global",
    scope=Scope.PHONE_GLOBAL,
    key=KeyKind.SERVICE,
    limit=Setting("OPENSSPR_PHONE_BUDGET_GLOBAL"),
    window=HOUR,
    penalty=None,
    durable=True,
    reason="SMS pumping spread over many addresses caps the bill; a budget counter (F12)",
)


# --- Codes and calls, per destination (attack A5), whoever asks ---------------------
def _destination(name: str, limit: int, window: timedelta, reason: str) -> Rule:
    """Per inbox or phone, whatever user ID, flow or person asks: "not now", no block."""
    return Rule(
        name=f"destination.{name}",
        scope=Scope.DESTINATION,
        key=KeyKind.DESTINATION,
        limit=limit,
        window=window,
        penalty=None,
        durable=True,
        reason=f"A5: {reason}",
    )


DESTINATION_COOLDOWN = _destination(
    "cooldown",
    1,
    timedelta(seconds=60),
    "a minute between two codes or calls to one inbox or phone",
)
DESTINATION_CODES = _destination(
    "codes", 3, timedelta(minutes=15), "at most 3 codes or calls to one inbox or phone"
)

# --- Signing in ---------------------------------------------------------------------
SIGNIN_FAILURES_PER_ADDRESS = Rule(
    name="signin.failures_per_address",
    scope=Scope.SIGNIN_PER_ADDRESS,
    key=KeyKind.CLIENT_ADDRESS,
    limit=Setting("OPENSSPR_SIGNIN_FAILURES_PER_IP"),
    window=timedelta(minutes=15),
    penalty=None,
    durable=False,
    reason="password spraying across accounts; a coarse brake in front of the "
    "per-account lockout, so the cache may keep it (ADR 0003)",
)
SIGNIN_LOCKOUT = Rule(
    name="signin.lockout",
    scope=Scope.SIGNIN_LOCKOUT,
    key=KeyKind.TYPED_USER_ID_AND_NETWORK,
    limit=Setting("OPENSSPR_LOCKOUT_THRESHOLD"),
    window=timedelta(hours=24),
    penalty=Backoff(Setting("OPENSSPR_LOCKOUT_SECONDS"), Setting("OPENSSPR_LOCKOUT_MAX_SECONDS")),
    durable=True,
    reason="§5.4 smart lockout: guessing one account's password; the last 3 wrong "
    "passwords are not counted twice, a quiet day starts afresh",
    quiet_reset=True,
    distinct=3,
)

# --- On-premises agents ----------------------------------------------------------------
AGENT_ENROLMENT_PER_ADDRESS = Rule(
    name="agent.enrolment_per_address",
    scope=Scope.AGENT_ENROLMENT,
    key=KeyKind.CLIENT_ADDRESS,
    limit=10,
    window=HOUR,
    penalty=None,
    durable=True,
    reason="guessing enrolment tokens (256 random bits each): a brake on a noisy client",
)

#: Every rule, in the order of the documentation table.
RULES: tuple[Rule, ...] = (
    SSPR_VERIFY_FAILURE,
    SSPR_SMS,
    SSPR_CALL,
    SSPR_QUESTIONS,
    SSPR_EMAIL,
    SSPR_CONTACT_CHECKS_PER_FLOW,
    SSPR_CONTACT_CHECKS_PER_ADDRESS,
    SSPR_HELP_PER_ADDRESS,
    SSPR_RECOVERY,
    SSPR_RECOVERY_PER_ADDRESS,
    HELP_EMAILS_PER_RECIPIENT,
    REGISTRATION_EMAIL,
    REGISTRATION_SMS,
    REGISTRATION_CALL,
    REGISTRATION_WRONG_CODE,
    PHONE_PER_ADDRESS,
    PHONE_GLOBAL,
    DESTINATION_COOLDOWN,
    DESTINATION_CODES,
    SIGNIN_FAILURES_PER_ADDRESS,
    SIGNIN_LOCKOUT,
    AGENT_ENROLMENT_PER_ADDRESS,
)


def rules_of(scope: Scope) -> tuple[Rule, ...]:
    return tuple(rule for rule in RULES if rule.scope == scope)


def scope_is_durable(scope: Scope) -> bool:
    """A scope's rules share one subject row, so they share one store (a test checks)."""
    return any(rule.durable for rule in rules_of(scope))


#: The §5.1 rules by short name (``"sms"``, as the reset flow audits a block).
SSPR_BY_ACTION: dict[str, Rule] = {
    rule.name.removeprefix("sspr."): rule for rule in rules_of(Scope.SSPR)
}
#: Registration's send limits by ``MethodKind`` value (mobile and office calls share one).
REGISTRATION_SEND_BY_KIND: dict[str, Rule] = {
    "email": REGISTRATION_EMAIL,
    "mobile_sms": REGISTRATION_SMS,
    "mobile_voice": REGISTRATION_CALL,
    "office_voice": REGISTRATION_CALL,
}
