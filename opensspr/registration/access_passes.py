"""Temporary access passes: issue, revoke, and sign in with one (reference: Entra's TAP).

Invariants kept here:

* The pass is made from ``secrets``, shown once (the return value of
  ``issue_access_pass``) and stored only as a keyed digest bound to the person;
  no log line, audit row or session ever holds it.
* One per person: issuing replaces the old pass (and so ends a session opened
  with it). Lifetime 10 minutes to 30 days and never past the policy's maximum;
  length as the policy says (8 to 48).
* Only an administrator the helpdesk rule allows (``accounts.authority``)
  issues or revokes, checked here, whatever page called.
* Signing in with a pass is a sign-in guess like a password: the per-address
  budget and smart lockout are asked first, the failure is reserved before the
  comparison and given back only for a right pass. Every refusal tells the
  person the same thing; the audit row says why (``wrong``, ``expired``,
  ``revoked``, ``used``, ``no_pass``, ``unknown_user``, ``disabled``).
* A pass opens security info only (``registration.middleware``) and is never a
  reset gate: the reset flow doesn't read this model.
"""

import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from opensspr.accounts.authority import HelpdeskAction, may_act
from opensspr.accounts.identifiers import identifier_key
from opensspr.accounts.models import User
from opensspr.accounts.selectors import get_user_by_identifier
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event, unknown_identifier_label
from opensspr.core import clock
from opensspr.core.crypto import keyed_digest, secrets_equal
from opensspr.core.request_meta import RequestMeta
from opensspr.registration.models import (
    PASS_LIFETIME_MAX,
    PASS_LIFETIME_MIN,
    AccessPass,
    AccessPassPolicy,
)
from opensspr.signin import lockout
from opensspr.signin.services import FAILURES_PER_IP, lock_key_for, register_wrong_password
from opensspr.throttles import service as throttles

#: No look-alikes (I l 1 O 0 o): a pass is often read out over the phone.
ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "Il1O0o")
#: The longest a session opened with a pass lasts (and the identity proof it gives).
SESSION_LENGTH = timedelta(hours=1)
_DIGEST_PURPOSE = "registration.access-pass"


def get_access_pass_policy() -> AccessPassPolicy:
    return AccessPassPolicy.objects.filter(pk=1).first() or AccessPassPolicy(pk=1)


def generate_pass(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def pass_digest(user_pk: int, passcode: str) -> str:
    """Keyed digest of a pass bound to its owner: a pass of one person opens nobody else."""
    return keyed_digest(_DIGEST_PURPOSE, f"{user_pk}\x00{passcode}")


@dataclass(frozen=True)
class IssuedPass:
    passcode: str  # shown once to the administrator, never stored
    expires_at: datetime
    one_time: bool


def check_lifetime(minutes: int, policy: AccessPassPolicy) -> None:
    """Refuse a lifetime outside 10 minutes to the policy's maximum (at most 30 days)."""
    ceiling = min(policy.max_lifetime_minutes, PASS_LIFETIME_MAX)
    if not PASS_LIFETIME_MIN <= minutes <= ceiling:
        raise ValidationError(
            _("Choose a lifetime from %(low)d to %(high)d minutes.")
            % {"low": PASS_LIFETIME_MIN, "high": ceiling},
            code="lifetime",
        )


def issue_access_pass(
    *, actor: User, user: User, lifetime_minutes: int, one_time: bool, meta: RequestMeta
) -> IssuedPass:
    """A new pass for ``user``, replacing any earlier one; returns it for showing once."""
    if not may_act(actor, user, HelpdeskAction.ACCESS_PASS):
        raise PermissionDenied("this administrator's roles don't reach this person")
    policy = get_access_pass_policy()
    check_lifetime(lifetime_minutes, policy)
    passcode = generate_pass(policy.length)
    now = clock.now()
    expires_at = now + timedelta(minutes=lifetime_minutes)
    with transaction.atomic():
        # One row per person, replaced in place under its lock: a new ``ref`` ends any
        # session opened with the old pass, and two issues at once leave one pass.
        _row, created = AccessPass.objects.update_or_create(
            user=user,
            defaults={
                "ref": secrets.token_hex(16),
                "digest": pass_digest(user.pk, passcode),
                "issued_by": actor,
                "issued_at": now,
                "expires_at": expires_at,
                "one_time": one_time,
                "uses": 0,
                "last_used_at": None,
                "revoked_at": None,
            },
        )
        replaced = not created
        record_event(
            activity=Activity.ACCESS_PASS_ISSUED,
            outcome=Outcome.SUCCESS,
            meta=meta,
            actor=actor,
            target=user,
            details={
                "lifetime_minutes": lifetime_minutes,
                "one_time": one_time,
                "replaced": replaced,
            },
        )
    return IssuedPass(passcode, expires_at, one_time)


def revoke_access_pass(*, actor: User, user: User, meta: RequestMeta) -> bool:
    """End ``user``'s pass now (and any session opened with it); False when none was active."""
    if not may_act(actor, user, HelpdeskAction.ACCESS_PASS):
        raise PermissionDenied("this administrator's roles don't reach this person")
    now = clock.now()
    with transaction.atomic():
        revoked = AccessPass.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if not revoked:
            return False
        record_event(
            activity=Activity.ACCESS_PASS_REVOKED,
            outcome=Outcome.SUCCESS,
            meta=meta,
            actor=actor,
            target=user,
        )
    return True


class PassState(StrEnum):
    ACTIVE = "active"
    USED = "used"  # a one-time pass already spent
    EXPIRED = "expired"
    REVOKED = "revoked"


def state_of(access_pass: AccessPass, now: datetime) -> PassState:
    if access_pass.revoked_at is not None:
        return PassState.REVOKED
    if access_pass.expires_at <= now:
        return PassState.EXPIRED
    if access_pass.one_time and access_pass.uses:
        return PassState.USED
    return PassState.ACTIVE


def get_access_pass(user: User) -> tuple[AccessPass, PassState] | None:
    """The person's pass and its state now, for the console; None when they never had one."""
    found = AccessPass.objects.filter(user=user).first()
    return (found, state_of(found, clock.now())) if found else None


def session_is_valid(user_pk: int, ref: str) -> bool:
    """Is the pass a session was opened with still the person's, and not revoked?"""
    return AccessPass.objects.filter(user_id=user_pk, ref=ref, revoked_at__isnull=True).exists()


class PassOutcome(StrEnum):
    SUCCESS = "success"
    INVALID = "invalid"  # wrong, unknown, expired, used, revoked, disabled: told alike
    LOCKED = "locked"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class PassSignIn:
    outcome: PassOutcome
    user: User | None = None
    ref: str = ""
    until: datetime | None = None  # when the session it opens ends


def sign_in_with_access_pass(*, identifier: str, passcode: str, meta: RequestMeta) -> PassSignIn:
    """Check a typed user ID and pass; the same path for every ID (attack A1)."""
    now = clock.now()
    key = identifier_key(identifier)
    user = get_user_by_identifier(identifier)
    if throttles.blocked_until(FAILURES_PER_IP, meta.ip_address or "-", now=now):
        return _refused(user, key, meta, PassOutcome.THROTTLED, "throttled")
    lock_key = lock_key_for(key, meta, now)
    reservation = lockout.reserve_attempt(lock_key, passcode, now)
    if not reservation.allowed:
        return _refused(user, key, meta, PassOutcome.LOCKED, "locked")
    found = AccessPass.objects.filter(user=user).first() if user else None
    typed = pass_digest(user.pk if user else 0, passcode[:64])
    matches = secrets_equal(typed, found.digest if found else pass_digest(0, ""))
    if not matches or found is None or user is None:
        register_wrong_password(
            user=user, key=key, password=passcode, meta=meta, now=now, reservation=reservation
        )
        reason = "wrong" if user and found else ("no_pass" if user else "unknown_user")
        return _refused(user, key, meta, PassOutcome.INVALID, reason)
    lockout.give_back(reservation)  # the right pass: not a guess, whatever its state
    state = state_of(found, now)
    if state != PassState.ACTIVE:
        return _refused(user, key, meta, PassOutcome.INVALID, state.value)
    if not user.account_enabled:
        return _refused(user, key, meta, PassOutcome.INVALID, "disabled")
    return _accepted(user, found, meta, now, lock_key)


def _accepted(
    user: User, found: AccessPass, meta: RequestMeta, now: datetime, lock_key: str
) -> PassSignIn:
    """Count the use (a one-time pass only if nobody used it meanwhile) and open the session.

    The session lasts an hour; a multi-use pass's session also ends with the pass.
    """
    spend = AccessPass.objects.filter(pk=found.pk, revoked_at__isnull=True)
    if found.one_time:
        spend = spend.filter(uses=0)
    if not spend.update(uses=F("uses") + 1, last_used_at=now):
        return _refused(user, user.user_id_key, meta, PassOutcome.INVALID, "used")
    with transaction.atomic():
        lockout.clear(lock_key)
        user.last_login = now
        user.save(update_fields=["last_login"])
        record_event(
            activity=Activity.ACCESS_PASS_USED,
            outcome=Outcome.SUCCESS,
            meta=meta,
            actor=user,
            target=user,
            details={"one_time": found.one_time},
        )
    until = now + SESSION_LENGTH
    if not found.one_time:
        until = min(until, found.expires_at)
    return PassSignIn(PassOutcome.SUCCESS, user, found.ref, until)


def _refused(
    user: User | None, key: str, meta: RequestMeta, outcome: PassOutcome, reason: str
) -> PassSignIn:
    record_event(
        activity=Activity.ACCESS_PASS_REFUSED,
        outcome=Outcome.FAILURE,
        reason=reason,
        meta=meta,
        actor=user,
        target=user,
        target_label=user.user_id if user else unknown_identifier_label(key),
    )
    return PassSignIn(outcome)
