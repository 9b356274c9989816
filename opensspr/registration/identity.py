"""Proving it is the person before security info changes (security bar A18, ASVS 7.5.1).

A signed-in session alone never changes a method: the session must have proved,
within the last 10 minutes, possession of a method already registered (a code
by email or text, a call answered with #, or an authenticator code). Only a
person with nothing to prove possession with may use the password instead, and
only a password typed in the last 5 minutes (at sign-in, or again here).

Security questions never count as this proof: they are knowledge, like the
password, and much weaker (OWASP's cheat sheet; ASVS 6.4.2).

A code or call proves possession of the value it went to, and only while that
value is still stored: the proof keeps a keyed digest of it, compared when the
answer comes back and whenever the window is used. A number an administrator
replaced after a SIM swap, or an address the person removed, opens nothing and
keeps nothing open.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction

from opensspr.accounts.identifiers import identifier_key
from opensspr.accounts.models import User
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.channels import mask_email, mask_phone
from opensspr.core import clock
from opensspr.core.crypto import keyed_digest, secrets_equal
from opensspr.core.request_meta import RequestMeta
from opensspr.directory import connector_for
from opensspr.directory.base import DirectoryError
from opensspr.methods.challenges import CODE_TTL
from opensspr.methods.models import AuthenticatorApp
from opensspr.methods.totp import accept_code
from opensspr.policy.kinds import MethodKind
from opensspr.registration import guesses, proofs
from opensspr.registration.models import Proof, ProofPurpose
from opensspr.registration.proofs import ProofError, audit
from opensspr.signin import lockout
from opensspr.signin.services import lock_key_for, register_wrong_password

METHOD_FRESH = timedelta(minutes=10)
PASSWORD_FRESH = timedelta(minutes=5)
PASSWORD = "password"  # noqa: S105 (the kind of a proof, not a password)
#: A temporary access pass signed in with: proves the person for the pass's session
#: (``access_passes.SESSION_LENGTH``), whatever they have registered.
ACCESS_PASS = "access_pass"  # noqa: S105 (the kind of a proof, not a pass)
ACCESS_PASS_FRESH = timedelta(hours=1)
DESTINATION_PURPOSE = "registration.identity-destination"
#: The directory field each sent or called kind goes to.
DESTINATION_FIELD = {
    MethodKind.EMAIL: "auth_email",
    MethodKind.MOBILE_SMS: "mobile_phone",
    MethodKind.MOBILE_VOICE: "mobile_phone",
    MethodKind.OFFICE_VOICE: "office_phone",
}
CONTACT_FIELDS = ("auth_email", "mobile_phone", "office_phone")


@dataclass(frozen=True)
class ProofOption:
    kind: MethodKind
    shown_as: str  # the masked destination ("" for the app)

    @property
    def value(self) -> str:
        return self.kind.value


def list_identity_options(user: User) -> tuple[ProofOption, ...]:
    """Every registered method the person can prove possession with, strongest first.

    Values an administrator set count, as they do at reset (reference §8.3).
    Whether the policy allows a method for reset doesn't matter here: the rule
    protects what the person holds.
    """
    options: list[ProofOption] = []
    if AuthenticatorApp.objects.filter(user=user, confirmed_at__isnull=False).exists():
        options.append(ProofOption(MethodKind.APP_CODE, ""))
    if user.mobile_phone:
        shown = mask_phone(user.mobile_phone)
        options += [
            ProofOption(MethodKind.MOBILE_SMS, shown),
            ProofOption(MethodKind.MOBILE_VOICE, shown),
        ]
    if user.office_phone:
        options.append(ProofOption(MethodKind.OFFICE_VOICE, mask_phone(user.office_phone)))
    if user.auth_email:
        options.append(ProofOption(MethodKind.EMAIL, mask_email(user.auth_email)))
    return tuple(options)


def destination_digest(field: str, value: str) -> str:
    """Keyed digest of a stored contact value, bound to its field (never the value itself)."""
    return keyed_digest(DESTINATION_PURPOSE, f"{field}\x00{value}")


def _has_app(user: User) -> bool:
    return AuthenticatorApp.objects.filter(user=user, confirmed_at__isnull=False).exists()


def _still_stored(proof: Proof, user: User, has_app: bool) -> bool:
    """Is what ``proof`` proved possession of still registered? ``user`` freshly loaded."""
    if proof.kind in (PASSWORD, ACCESS_PASS):
        return True
    if proof.kind == MethodKind.APP_CODE:
        return has_app
    field = DESTINATION_FIELD.get(MethodKind(proof.kind), "")
    current = getattr(user, field) if field else ""
    return bool(current and proof.destination_digest) and secrets_equal(
        proof.destination_digest, destination_digest(field, current)
    )


def _fresh_windows(user: User, session: str) -> list[tuple[Proof, timedelta]]:
    """The session's identity proofs still allowing changes, each with its length."""
    user.refresh_from_db(fields=CONTACT_FIELDS)  # an administrator may have changed them
    now = clock.now()
    proven = Proof.objects.filter(
        user=user, session_digest=session, purpose=ProofPurpose.IDENTITY, proven_at__isnull=False
    )
    by_pass = [
        (p, ACCESS_PASS_FRESH)
        for p in proven.filter(kind=ACCESS_PASS, proven_at__gt=now - ACCESS_PASS_FRESH)
    ]
    if not list_identity_options(user):
        recent = proven.filter(kind=PASSWORD, proven_at__gt=now - PASSWORD_FRESH)
        return [(p, PASSWORD_FRESH) for p in recent] + by_pass
    has_app = _has_app(user)
    candidates = proven.exclude(kind__in=(PASSWORD, ACCESS_PASS)).filter(
        proven_at__gt=now - METHOD_FRESH
    )
    return [(p, METHOD_FRESH) for p in candidates if _still_stored(p, user, has_app)] + by_pass


def has_fresh_identity(user: User, session: str) -> bool:
    """May this session change security info right now?

    Only through a proof of a value still stored: a window opened by a code sent
    to a number or address since replaced or removed is over.
    """
    return bool(_fresh_windows(user, session))


def fresh_until(user: User, session: str) -> datetime | None:
    """When the current proof stops allowing changes (for the page), or None."""
    ends = [p.proven_at + length for p, length in _fresh_windows(user, session) if p.proven_at]
    return max(ends, default=None)


def keep_window_after_own_change(user: User, session: str, field: str, old: str, new: str) -> None:
    """The person replaced ``old`` with ``new`` (just proven) in this session: keep its window.

    A window this session opened through ``old`` now counts through ``new``,
    which the same session has just proven too. Other sessions' windows end
    (``proofs.end_other_sessions``); a removal keeps nothing open through the
    removed value.
    """
    if not old or not new:
        return
    Proof.objects.filter(
        user=user,
        session_digest=session,
        purpose=ProofPurpose.IDENTITY,
        proven_at__isnull=False,
        destination_digest=destination_digest(field, old),
    ).update(destination_digest=destination_digest(field, new))


def open_window_through_new_value(
    *, user: User, session: str, kind: str, value: str, meta: RequestMeta
) -> None:
    """The session just proved ``value``, now stored: that counts as proving it's the person.

    The code or call that proved a new address or number is a proof of
    possession like any other, so someone registering their first method isn't
    asked to verify again at once with the method they have just proven.
    """
    field = DESTINATION_FIELD.get(MethodKind(kind))
    if field is None:
        return
    proof = proofs.record_without_send(
        user=user,
        session=session,
        purpose=ProofPurpose.IDENTITY,
        kind=kind,
        meta=meta,
        ttl=timedelta(0),
        proven=True,
    )
    Proof.objects.filter(pk=proof.pk).update(destination_digest=destination_digest(field, value))


def _destination(user: User, kind: MethodKind) -> str:
    field = DESTINATION_FIELD.get(kind)
    return getattr(user, field) if field else ""


def start_identity_proof(*, user: User, session: str, kind: MethodKind, meta: RequestMeta) -> Proof:
    """Send a code or place a call to the stored value, or open an app-code proof."""
    if kind not in {o.kind for o in list_identity_options(user)}:
        raise ProofError("method_unavailable")
    if kind == MethodKind.APP_CODE:
        guesses.refuse_if_paused(user, clock.now(), kind)
        with transaction.atomic():
            proof = proofs.record_without_send(
                user=user,
                session=session,
                purpose=ProofPurpose.IDENTITY,
                kind=kind.value,
                meta=meta,
                ttl=CODE_TTL,
            )
            audit(
                user,
                Activity.REGISTRATION_PROOF_STARTED,
                meta,
                purpose="identity",
                method=kind.value,
            )
        return proof
    to = _destination(user, kind)
    return proofs.issue(
        user=user,
        session=session,
        purpose=ProofPurpose.IDENTITY,
        kind=kind,
        to=to,
        meta=meta,
        destination_digest=destination_digest(DESTINATION_FIELD[kind], to),
    )


def _app_code_matches(user: User, answer: str) -> bool:
    if not answer.strip().isdigit():
        return False
    now = clock.now().timestamp()
    apps = AuthenticatorApp.objects.filter(user=user, confirmed_at__isnull=False)
    return any(accept_code(app, answer[:16], now) for app in apps)


def finish_identity_proof(*, user: User, session: str, answer: str, meta: RequestMeta) -> None:
    """Check the answer to the session's open identity proof; raises ``ProofError``."""
    proof = proofs.get_open_proof(user, session, {ProofPurpose.IDENTITY})
    if proof is None:
        raise ProofError("no_open_proof")
    # The stored value may have changed since the code was sent (replaced, not only
    # removed): then the code proves nothing, and the proof ends.
    user.refresh_from_db(fields=CONTACT_FIELDS)
    still_there = proof.kind in {o.kind for o in list_identity_options(user)}
    if not still_there or not _still_stored(proof, user, _has_app(user)):
        with transaction.atomic():
            Proof.objects.filter(pk=proof.pk, consumed_at__isnull=True).update(
                consumed_at=clock.now()
            )
            audit(
                user,
                Activity.REGISTRATION_PROOF_FAILED,
                meta,
                outcome=Outcome.FAILURE,
                reason="destination_changed",
                purpose="identity",
                method=proof.kind,
            )
        raise ProofError("method_unavailable")
    # An app code is compared only once its try is reserved.
    matches = (
        partial(_app_code_matches, user, answer) if proof.kind == MethodKind.APP_CODE else None
    )
    proofs.check(proof, answer, meta, matches=matches)
    with transaction.atomic():
        if not proofs.mark_proven(proof, consume=False):
            raise ProofError("code_used")
        audit(user, Activity.REGISTRATION_IDENTITY_VERIFIED, meta, method=proof.kind)


def verify_password(*, user: User, session: str, password: str, meta: RequestMeta) -> None:
    """The password as proof, only when nothing else is registered; counts toward lockout."""
    if list_identity_options(user):
        raise ProofError("method_required")
    now = clock.now()
    key = identifier_key(user.user_id)
    # Reserved before comparing: parallel guesses never pass the lockout threshold.
    reservation = lockout.reserve_attempt(lock_key_for(key, meta, now), password, now)
    if not reservation.allowed:
        raise ProofError("account_locked")
    try:
        correct = connector_for(user).verify_password(user, password)
    except DirectoryError:
        lockout.give_back(reservation)  # nothing was compared
        raise ProofError("directory_unavailable") from None
    if correct:
        lockout.give_back(reservation)
    else:
        state = register_wrong_password(
            user=user, key=key, password=password, meta=meta, now=now, reservation=reservation
        )
        code = "account_locked" if state.is_locked(now) else "wrong_password"
        audit(
            user,
            Activity.REGISTRATION_PROOF_FAILED,
            meta,
            outcome=Outcome.FAILURE,
            reason=code,
            purpose="identity",
            method=PASSWORD,
        )
        raise ProofError(code)
    record_password_proof(user=user, session=session, meta=meta, via="password_prompt")


def record_access_pass_proof(*, user: User, session: str, meta: RequestMeta) -> None:
    """The person signed in with a temporary access pass: this session may register.

    The session itself ends when the pass is revoked or replaced
    (``registration.middleware``), and with it every proof bound to it.
    """
    with transaction.atomic():
        proofs.record_without_send(
            user=user,
            session=session,
            purpose=ProofPurpose.IDENTITY,
            kind=ACCESS_PASS,
            meta=meta,
            ttl=timedelta(0),
            proven=True,
        )
        audit(user, Activity.REGISTRATION_IDENTITY_VERIFIED, meta, method=ACCESS_PASS)


def record_password_proof(*, user: User, session: str, meta: RequestMeta, via: str) -> None:
    """The password was just typed (here, or at sign-in): a 5-minute proof."""
    with transaction.atomic():
        proofs.record_without_send(
            user=user,
            session=session,
            purpose=ProofPurpose.IDENTITY,
            kind=PASSWORD,
            meta=meta,
            ttl=PASSWORD_FRESH,
            proven=True,
        )
        audit(user, Activity.REGISTRATION_IDENTITY_VERIFIED, meta, method=PASSWORD, via=via)
