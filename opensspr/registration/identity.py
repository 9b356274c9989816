"""Proving it is the person before security info changes (security bar A18, ASVS 7.5.1).

A signed-in session alone never changes a method: the session must have proved,
within the last 10 minutes, possession of a method already registered (a code
by email or text, a call answered with #, or an authenticator code). Only a
person with nothing to prove possession with may use the password instead, and
only a password typed in the last 5 minutes (at sign-in, or again here).

Security questions never count as this proof: they are knowledge, like the
password, and much weaker (OWASP's cheat sheet; ASVS 6.4.2).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from opensspr.accounts.identifiers import identifier_key
from opensspr.accounts.models import User
from opensspr.audit.models import Outcome
from opensspr.channels import mask_email, mask_phone
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.directory import connector_for
from opensspr.directory.base import DirectoryError
from opensspr.methods.models import AuthenticatorApp
from opensspr.methods.totp import accept_code
from opensspr.policy.kinds import MethodKind
from opensspr.registration import proofs
from opensspr.registration.models import Proof, ProofPurpose
from opensspr.registration.proofs import ProofError, audit
from opensspr.signin import lockout
from opensspr.signin.services import lock_key_for, register_wrong_password

METHOD_FRESH = timedelta(minutes=10)
PASSWORD_FRESH = timedelta(minutes=5)
PASSWORD = "password"  # noqa: S105 (the kind of a proof, not a password)


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


def has_fresh_identity(user: User, session: str) -> bool:
    """May this session change security info right now?"""
    now = clock.now()
    proven = Proof.objects.filter(
        user=user, session_digest=session, purpose=ProofPurpose.IDENTITY, proven_at__isnull=False
    )
    if list_identity_options(user):
        return proven.exclude(kind=PASSWORD).filter(proven_at__gt=now - METHOD_FRESH).exists()
    return proven.filter(proven_at__gt=now - PASSWORD_FRESH).exists()


def fresh_until(user: User, session: str) -> datetime | None:
    """When the current proof stops allowing changes (for the page), or None."""
    latest = (
        Proof.objects.filter(
            user=user,
            session_digest=session,
            purpose=ProofPurpose.IDENTITY,
            proven_at__isnull=False,
        )
        .order_by("-proven_at")
        .first()
    )
    if latest is None or latest.proven_at is None or not has_fresh_identity(user, session):
        return None
    return latest.proven_at + (PASSWORD_FRESH if latest.kind == PASSWORD else METHOD_FRESH)


def _destination(user: User, kind: MethodKind) -> str:
    return {
        MethodKind.EMAIL: user.auth_email,
        MethodKind.MOBILE_SMS: user.mobile_phone,
        MethodKind.MOBILE_VOICE: user.mobile_phone,
        MethodKind.OFFICE_VOICE: user.office_phone,
    }.get(kind, "")


def start_identity_proof(*, user: User, session: str, kind: MethodKind, meta: RequestMeta) -> Proof:
    """Send a code or place a call to the stored value, or open an app-code proof."""
    if kind not in {o.kind for o in list_identity_options(user)}:
        raise ProofError("method_unavailable")
    if kind == MethodKind.APP_CODE:
        with transaction.atomic():
            proof = proofs.record_without_send(
                user=user,
                session=session,
                purpose=ProofPurpose.IDENTITY,
                kind=kind.value,
                meta=meta,
                ttl=proofs.CODE_TTL,
            )
            audit(user, "registration.proof_started", meta, purpose="identity", method=kind.value)
        return proof
    return proofs.issue(
        user=user,
        session=session,
        purpose=ProofPurpose.IDENTITY,
        kind=kind,
        to=_destination(user, kind),
        meta=meta,
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
    # The stored value may have changed since the code was sent: then it proves nothing.
    if proof.kind not in {o.kind for o in list_identity_options(user)}:
        raise ProofError("method_unavailable")
    matches = _app_code_matches(user, answer) if proof.kind == MethodKind.APP_CODE else None
    proofs.check(proof, answer, meta, matches=matches)
    with transaction.atomic():
        if not proofs.mark_proven(proof, consume=False):
            raise ProofError("code_used")
        audit(user, "registration.identity_verified", meta, method=proof.kind)


def verify_password(*, user: User, session: str, password: str, meta: RequestMeta) -> None:
    """The password as proof, only when nothing else is registered; counts toward lockout."""
    if list_identity_options(user):
        raise ProofError("method_required")
    now = clock.now()
    key = identifier_key(user.user_id)
    if lockout.get_lock_state(lock_key_for(key, meta, now)).is_locked(now):
        raise ProofError("account_locked")
    try:
        correct = connector_for(user).verify_password(user, password)
    except DirectoryError:
        raise ProofError("directory_unavailable") from None
    if not correct:
        state = register_wrong_password(user=user, key=key, password=password, meta=meta, now=now)
        code = "account_locked" if state.is_locked(now) else "wrong_password"
        audit(
            user,
            "registration.proof_failed",
            meta,
            outcome=Outcome.FAILURE,
            reason=code,
            purpose="identity",
            method=PASSWORD,
        )
        raise ProofError(code)
    record_password_proof(user=user, session=session, meta=meta, via="password_prompt")


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
        audit(user, "registration.identity_verified", meta, method=PASSWORD, via=via)
